import type { Pool } from 'pg';
import { comparePositions, type PostgresEventStore } from '@app/event-store';
import { leaseKey, ProjectionRunner, readCheckpoint } from '@app/projections';
import { SEQUENCER_NAME, SequencerProjection } from './sequencer.projection';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Returns once every event committed before the call is a leaf: sequenced here, or by the
 * running service when it holds the sequencer's lease. An event is sequenced only once every
 * older transaction has ended, so this may wait for one (at most `timeoutMs`, then it throws).
 * For the CLI's `checkpoint` (a tree up to date before it is signed), the bench and the tests.
 */
export async function catchUpSequencer(pool: Pool, store: PostgresEventStore, timeoutMs = 30_000): Promise<void> {
  const through = await store.headPosition();
  if (through === null) return;
  const deadline = Date.now() + timeoutMs;
  const key = leaseKey(SEQUENCER_NAME);
  const conn = await pool.connect();
  try {
    const { rows } = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
    const runner = rows[0].ok
      ? new ProjectionRunner(pool, store, new SequencerProjection(), { batchSize: 5000 })
      : null;
    try {
      while (comparePositions(await readCheckpoint(conn, SEQUENCER_NAME), through) < 0) {
        if (Date.now() > deadline) throw new Error(`the log was not sequenced through ${through} in ${timeoutMs} ms`);
        if (!runner || (await runner.processBatch(conn)) === 0) await sleep(25);
      }
    } finally {
      if (runner) await conn.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  } finally {
    conn.release();
  }
}
