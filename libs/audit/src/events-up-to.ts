import { EVENT_COLUMNS, EventRow, GlobalPosition, StoredEvent, toStoredEvent } from '@app/event-store';
import { streamIdOf } from '@app/conversation';
import type { Queryable } from './queryable';
import { streamStartedBy } from './tenant-streams';

/** Events of one stream per read of streamEventsUpTo: bounded memory whatever the stream's size. */
export const STREAM_CHUNK = 32;

/**
 * One conversation's events committed up to `upTo`, in stream order, yielded a chunk at a time
 * (keyset on the version), so a long conversation is never held whole. With `tenantId`, none
 * unless that tenant started the stream (the tenant scope, in SQL, from the log).
 */
export async function* streamEventsUpTo(
  q: Queryable,
  conversationId: string,
  upTo: GlobalPosition,
  tenantId?: string,
  chunk = STREAM_CHUNK,
): AsyncGenerator<StoredEvent[], void, undefined> {
  for (let after = 0; ;) {
    const { rows } = await q.query<EventRow>(
      `SELECT ${EVENT_COLUMNS}
         FROM es_events
        WHERE stream_id = $1 AND stream_version > $2 AND (transaction_id, position) <= ($3::xid8, $4::bigint)
          AND ($5::text IS NULL OR ${streamStartedBy('$1', '$5')})
        ORDER BY stream_version
        LIMIT $6`,
      [streamIdOf(conversationId), after, upTo.transactionId, upTo.position, tenantId ?? null, chunk],
    );
    if (rows.length) yield rows.map(toStoredEvent);
    if (rows.length < chunk) return;
    after = Number(rows[rows.length - 1].stream_version);
  }
}
