import type { Pool, PoolClient } from 'pg';
import {
  CONVERSATION_STREAM_PREFIX,
  conversationIdOf,
  type DomainEventType,
  fieldOf,
  type RecordedConversationEvent,
} from '@app/conversation';
import { typeIs } from './event-sql';
import { type Batch, IN_BATCH_SQL, rangeParams } from './projection';

/**
 * conversationIdOf in SQL, of `e.stream_id`. The full regular expression per row would cost
 * more than the rest of a projection's statement: the shape by LIKE, then only hex digits and
 * dashes, exactly four of them.
 */
export const CONVERSATION_ID_SQL =
  `CASE WHEN e.stream_id ` +
  `LIKE '${CONVERSATION_STREAM_PREFIX}________-____-____-____-____________'
    AND substr(e.stream_id, ${CONVERSATION_STREAM_PREFIX.length + 1}) ~ '^[-0-9a-f]*$'
    AND length(replace(substr(e.stream_id, ${CONVERSATION_STREAM_PREFIX.length + 1}), '-', '')) = 32
  THEN substr(e.stream_id, ${CONVERSATION_STREAM_PREFIX.length + 1})::uuid END`;

/**
 * For read models written as SQL over the log: the events of conversation streams in a batch
 * (of the given types, else all), as the relation `e` with es_events' columns plus
 * `conversation_id` (conversationIdOf) and `tenant_id` ('' when the metadata has none). $1..$4
 * are the batch's rangeParams.
 */
export function conversationEventsSql(...types: DomainEventType[]): string {
  return `(SELECT * FROM (
             SELECT e.*, ${CONVERSATION_ID_SQL} AS conversation_id, coalesce(e.metadata->>'tenantId', '') AS tenant_id
               FROM es_events e
              WHERE ${IN_BATCH_SQL}
                ${types.length ? `AND ${typeIs(types, 'e')}` : ''}) e
            WHERE e.conversation_id IS NOT NULL) e`;
}

/** The data a fold reads: MessageAppended's content emptied. */
const FOLDED_DATA = `CASE WHEN ${typeIs(['MessageAppended'], 'e')}
  THEN e.data || '{"${fieldOf('MessageAppended', 'content')}": ""}' ELSE e.data END`;

/**
 * The conversation events of a batch as the domain folds them, grouped by conversation (its id
 * in lower case, as the uuid columns hold it) in commit order. Only what a fold reads travels:
 * no metadata or hashes, and no message content (the message tree keeps it): MessageAppended's
 * content is empty here. Streams are told apart here rather than in SQL, once per stream
 * instead of once per event.
 */
export async function readConversationEvents(
  db: Pool | PoolClient,
  batch: Batch,
): Promise<Map<string, RecordedConversationEvent[]>> {
  const { rows } = await db.query<{
    stream_id: string;
    version: string;
    event_id: string;
    type: string;
    data: object;
    ms: string;
  }>(
    `SELECT e.stream_id, e.stream_version::text AS version, e.event_id, e.type,
            ${FOLDED_DATA} AS data,
            floor(extract(epoch FROM e.occurred_at) * 1000)::text AS ms
       FROM es_events e
      WHERE ${IN_BATCH_SQL}
      ORDER BY e.transaction_id, e.position`,
    rangeParams(batch),
  );
  const conversationOf = new Map<string, string | null>();
  const groups = new Map<string, RecordedConversationEvent[]>();
  for (const r of rows) {
    let id = conversationOf.get(r.stream_id);
    if (id === undefined) {
      id = conversationIdOf(r.stream_id);
      conversationOf.set(r.stream_id, id);
    }
    if (id === null) continue;
    const occurredAt = new Date(Number(r.ms)).toISOString();
    const event = {
      type: r.type,
      data: r.data,
      eventId: r.event_id,
      version: Number(r.version),
      occurredAt,
    } as RecordedConversationEvent;
    const group = groups.get(id);
    if (group) group.push(event);
    else groups.set(id, [event]);
  }
  return groups;
}
