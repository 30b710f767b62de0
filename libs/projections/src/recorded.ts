import type { Pool, PoolClient } from 'pg';
import {
  CONVERSATION_STREAM_PREFIX,
  conversationIdOf,
  type DomainEventType,
  fieldOf,
  type RecordedConversationEvent,
  streamIdOf,
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

/** A row of the reads below: what a fold needs of an event. */
interface FoldedRow {
  stream_id: string;
  version: string;
  event_id: string;
  type: string;
  data: object;
  ms: string;
}

const FOLDED_COLUMNS = `e.stream_id, e.stream_version::text AS version, e.event_id, e.type,
            ${FOLDED_DATA} AS data,
            floor(extract(epoch FROM e.occurred_at) * 1000)::text AS ms`;

/** Rows in stream order per stream, grouped by conversation (streams that are none left out). */
function groupByConversation(rows: FoldedRow[]): Map<string, RecordedConversationEvent[]> {
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
  const { rows } = await db.query<FoldedRow>(
    `SELECT ${FOLDED_COLUMNS}
       FROM es_events e
      WHERE ${IN_BATCH_SQL}
      ORDER BY e.transaction_id, e.position`,
    rangeParams(batch),
  );
  return groupByConversation(rows);
}

/** Versions `after` + 1 through `through` of a conversation's stream. */
export interface StreamSpan {
  conversationId: string;
  after: number;
  through: number;
}

/**
 * Spans of conversation streams, read as readConversationEvents reads a batch (content emptied),
 * in one statement, grouped by conversation in version order; a conversation whose span holds
 * no event is absent.
 */
export async function readConversationSpans(
  db: Pool | PoolClient,
  spans: readonly StreamSpan[],
): Promise<Map<string, RecordedConversationEvent[]>> {
  const wanted = spans.filter((s) => s.through > s.after);
  if (wanted.length === 0) return new Map();
  const { rows } = await db.query<FoldedRow>(
    `SELECT ${FOLDED_COLUMNS}
       FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS s(stream_id, after, through)
       JOIN es_events e
         ON e.stream_id = s.stream_id COLLATE "C" AND e.stream_version > s.after AND e.stream_version <= s.through
      ORDER BY e.stream_id, e.stream_version`,
    [wanted.map((s) => streamIdOf(s.conversationId)), wanted.map((s) => s.after), wanted.map((s) => s.through)],
  );
  return groupByConversation(rows);
}
