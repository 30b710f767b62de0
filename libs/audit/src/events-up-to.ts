import { EVENT_COLUMNS, EventRow, GlobalPosition, StoredEvent, toStoredEvent } from '@app/event-store';
import { conversationIdOf, streamIdOf } from '@app/projections';
import type { Queryable } from './queryable';

/**
 * The events of some conversations committed up to `upTo` (commit order), by conversation id,
 * each in stream order; shaped as GET /v1/conversations/:id/events items.
 */
export async function readEventsUpTo(q: Queryable, conversationIds: string[], upTo: GlobalPosition): Promise<Map<string, StoredEvent[]>> {
  const byConversation = new Map<string, StoredEvent[]>();
  if (conversationIds.length === 0) return byConversation;
  const { rows } = await q.query<EventRow>(
    `SELECT ${EVENT_COLUMNS}
       FROM es_events
      WHERE stream_id = ANY($1::text[]) AND (transaction_id, position) <= ($2::xid8, $3::bigint)
      ORDER BY stream_id, stream_version`,
    [[...new Set(conversationIds)].map(streamIdOf), upTo.transactionId, upTo.position],
  );
  for (const r of rows) {
    const id = conversationIdOf(r.stream_id)!;
    const list = byConversation.get(id) ?? [];
    list.push(toStoredEvent(r));
    byConversation.set(id, list);
  }
  return byConversation;
}

/** A conversation's every event in stream order (the timeline), on the caller's connection or pool. */
export async function readConversationEvents(q: Queryable, conversationId: string): Promise<StoredEvent[]> {
  const { rows } = await q.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM es_events WHERE stream_id = $1 ORDER BY stream_version`, [
    streamIdOf(conversationId),
  ]);
  return rows.map(toStoredEvent);
}

/** Events of one stream per read of streamEventsUpTo: bounded memory whatever the stream's size. */
export const STREAM_CHUNK = 32;

/**
 * One conversation's events committed up to `upTo`, in stream order, yielded a chunk at a time
 * (keyset on the version), so a long conversation is never held whole. With `tenantId`, only
 * events recorded for that tenant (the tenant scope, in SQL as well).
 */
export async function* streamEventsUpTo(
  q: Queryable,
  conversationId: string,
  upTo: GlobalPosition,
  tenantId?: string,
  chunk = STREAM_CHUNK,
): AsyncGenerator<StoredEvent[], void, undefined> {
  for (let after = 0; ; ) {
    const { rows } = await q.query<EventRow>(
      `SELECT ${EVENT_COLUMNS}
         FROM es_events
        WHERE stream_id = $1 AND stream_version > $2 AND (transaction_id, position) <= ($3::xid8, $4::bigint)
          AND ($5::text IS NULL OR metadata->>'tenantId' = $5)
        ORDER BY stream_version
        LIMIT $6`,
      [streamIdOf(conversationId), after, upTo.transactionId, upTo.position, tenantId ?? null, chunk],
    );
    if (rows.length) yield rows.map(toStoredEvent);
    if (rows.length < chunk) return;
    after = Number(rows[rows.length - 1].stream_version);
  }
}
