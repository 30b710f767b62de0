import type { Pool } from 'pg';
import type { PostgresEventStore } from '@app/event-store';
import { leaseKey, ProjectionRunner } from '@app/projections';
import { SequencerProjection } from './sequencer.projection';

/**
 * Sequences what the log holds now, unless a running service holds the sequencer's lease (it
 * does it then). For the CLI's `checkpoint`: a tree that is up to date before it is signed.
 */
export async function catchUpSequencer(pool: Pool, store: PostgresEventStore): Promise<boolean> {
  const projection = new SequencerProjection();
  const conn = await pool.connect();
  try {
    const { rows } = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      leaseKey(projection.name),
    ]);
    if (!rows[0].ok) return false;
    try {
      const runner = new ProjectionRunner(pool, store, projection, { batchSize: 5000 });
      while ((await runner.processBatch(conn)) !== 0);
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [leaseKey(projection.name)]);
    }
    return true;
  } finally {
    conn.release();
  }
}
