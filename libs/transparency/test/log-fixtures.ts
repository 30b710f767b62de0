// Helpers of the transparency log's tests: events in several streams, the tree they make, and
// the database owner's attacks on the record (triggers off, history rewritten, triggers on).
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { canonicalEvent, chainHash, type PostgresEventStore } from '@app/event-store';
import { leafHash, rootOf } from '@app/tlog';

export const AT = '2026-01-02T03:04:05.000Z';

/** Appends `n` events to a stream (a conversation's, or any other kind); returns their ids. */
export async function appendEvents(
  store: PostgresEventStore,
  streamId: string,
  n: number,
  tenantId = 't-1',
): Promise<string[]> {
  const events = Array.from({ length: n }, (_, i) => ({
    eventId: randomUUID(),
    type: 'TestHappened',
    data: { i, note: `event ${i} of ${streamId}` },
    metadata: { tenantId },
    occurredAt: AT,
  }));
  await store.append(streamId, events, { expectedVersion: 'any' });
  return events.map((e) => e.eventId);
}

export const conversationStream = () => `conversation-${randomUUID()}`;

/** The root of the tree of every event of es_events in commit order, computed in memory. */
export async function expectedRoot(pool: Pool, size?: number): Promise<Buffer> {
  const { rows } = await pool.query<{ hash: string }>(
    'SELECT hash FROM es_events ORDER BY transaction_id, position LIMIT $1',
    [size ?? null],
  );
  return rootOf(rows.map((r) => leafHash(Buffer.from(r.hash, 'hex'))));
}

/** Runs `fn` as the owner with es_events' guard switched off, then switches it back on. */
async function withoutGuard(pool: Pool, fn: () => Promise<void>): Promise<void> {
  await pool.query('ALTER TABLE es_events DISABLE TRIGGER es_events_no_update');
  try {
    await fn();
  } finally {
    await pool.query('ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update');
  }
}

/**
 * The owner's attack: an event's content rewritten, its hash, every later hash of its stream and
 * the stream head recomputed, so that the chains verify again.
 */
export async function rewriteEvent(pool: Pool, store: PostgresEventStore, streamId: string, version: number) {
  await withoutGuard(pool, async () => {
    const events = await store.readStream(streamId);
    let prev = events[version - 2]?.hash ?? '0'.repeat(64);
    for (const e of events.slice(version - 1)) {
      const data = e.version === version ? { ...(e.data as object), note: 'rewritten' } : e.data;
      const hash = chainHash(prev, canonicalEvent({ ...e, data }));
      await pool.query(
        'UPDATE es_events SET data = $3, prev_hash = $4, hash = $5 WHERE stream_id = $1 AND stream_version = $2',
        [streamId, e.version, JSON.stringify(data), prev, hash],
      );
      prev = hash;
    }
    await pool.query('UPDATE es_streams SET head_hash = $2 WHERE stream_id = $1', [streamId, prev]);
  });
}

/** The owner deletes a stream: its events and its head. */
export async function deleteStream(pool: Pool, streamId: string): Promise<void> {
  await withoutGuard(pool, async () => {
    await pool.query('DELETE FROM es_events WHERE stream_id = $1', [streamId]);
    await pool.query('DELETE FROM es_streams WHERE stream_id = $1', [streamId]);
  });
}

/** The owner swaps two events' places in the commit order (events of two transactions: their transaction ids). */
export async function swapOrder(pool: Pool, a: string, b: string): Promise<void> {
  await withoutGuard(pool, async () => {
    await pool.query(
      `UPDATE es_events e SET transaction_id = o.transaction_id
         FROM (SELECT event_id, transaction_id FROM es_events WHERE event_id IN ($1, $2)) o
        WHERE e.event_id IN ($1, $2) AND o.event_id <> e.event_id`,
      [a, b],
    );
  });
}
