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
