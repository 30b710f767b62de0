import { EVENT_COLUMNS, EventRow, GlobalPosition, StoredEvent, toStoredEvent } from '@app/event-store';
import { conversationIdOf, streamIdOf } from '@app/projections';
import type { Queryable } from './queryable';
import { streamStartedBy } from './tenant-streams';

/** A conversation as a read model names it: its id and the tenant the row says it belongs to. */
export interface ConversationOfTenant {
  conversationId: string;
  tenantId: string;
}

/** The key of readEventsUpTo's answer: a conversation is read for one tenant at a time. */
export const conversationKey = (c: ConversationOfTenant): string => JSON.stringify([c.tenantId, c.conversationId]);

/**
 * The events of some conversations committed up to `upTo` (commit order), by conversationKey,
 * each in stream order; shaped as GET /v1/conversations/:id/events items. A conversation whose
 * stream the given tenant did not start yields no events (filtered in SQL, from the log).
 */
export async function readEventsUpTo(q: Queryable, conversations: ConversationOfTenant[], upTo: GlobalPosition): Promise<Map<string, StoredEvent[]>> {
  const byConversation = new Map<string, StoredEvent[]>();
  const wanted = [...new Map(conversations.map((c) => [conversationKey(c), c])).values()];
  if (wanted.length === 0) return byConversation;
  const { rows } = await q.query<EventRow & { owner: string }>(
    `WITH w AS (
       SELECT sid COLLATE "C" AS sid, tid FROM unnest($1::text[], $2::text[]) AS w(sid, tid)
        WHERE ${streamStartedBy('w.sid COLLATE "C"', 'w.tid')})
     SELECT w.tid AS owner, ${EVENT_COLUMNS}
       FROM w JOIN es_events e ON e.stream_id = w.sid
      WHERE (e.transaction_id, e.position) <= ($3::xid8, $4::bigint)
      ORDER BY e.stream_id, e.stream_version`,
    [wanted.map((c) => streamIdOf(c.conversationId)), wanted.map((c) => c.tenantId), upTo.transactionId, upTo.position],
  );
  for (const r of rows) {
    const key = conversationKey({ conversationId: conversationIdOf(r.stream_id)!, tenantId: r.owner });
    const list = byConversation.get(key) ?? [];
    list.push(toStoredEvent(r));
    byConversation.set(key, list);
  }
  return byConversation;
}
