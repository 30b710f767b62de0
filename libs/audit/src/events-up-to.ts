import { formatPosition, GlobalPosition, StoredEvent } from '@app/event-store';
import { conversationIdOf, streamIdOf } from '@app/projections';
import type { Queryable } from './queryable';

interface EventRow {
  tx: string;
  pos: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurred_at: Date;
  recorded_at: Date;
  prev_hash: string;
  hash: string;
}

/**
 * The events of some conversations committed up to `upTo` (commit order), by conversation id,
 * each in stream order; shaped as GET /v1/conversations/:id/events items.
 */
export async function readEventsUpTo(q: Queryable, conversationIds: string[], upTo: GlobalPosition): Promise<Map<string, StoredEvent[]>> {
  const byConversation = new Map<string, StoredEvent[]>();
  if (conversationIds.length === 0) return byConversation;
  const { rows } = await q.query<EventRow>(
    `SELECT transaction_id::text AS tx, position::text AS pos, stream_id, stream_version::text AS stream_version, event_id,
            type, data, metadata, occurred_at, recorded_at, prev_hash, hash
       FROM es_events
      WHERE stream_id = ANY($1::text[]) AND (transaction_id, position) <= ($2::xid8, $3::bigint)
      ORDER BY stream_id, stream_version`,
    [[...new Set(conversationIds)].map(streamIdOf), upTo.transactionId, upTo.position],
  );
  for (const r of rows) {
    const id = conversationIdOf(r.stream_id)!;
    const list = byConversation.get(id) ?? [];
    list.push({
      eventId: r.event_id,
      streamId: r.stream_id,
      version: Number(r.stream_version),
      position: formatPosition({ transactionId: r.tx, position: r.pos }),
      type: r.type,
      data: r.data,
      metadata: r.metadata,
      occurredAt: r.occurred_at.toISOString(),
      recordedAt: r.recorded_at.toISOString(),
      hash: r.hash,
      prevHash: r.prev_hash,
    });
    byConversation.set(id, list);
  }
  return byConversation;
}
