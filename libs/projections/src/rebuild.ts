import type { Pool } from 'pg';
import type { PostgresEventStore } from '@app/event-store';
import { lockCheckpoint, saveCheckpoint, START_POSITION } from './checkpoints';
import type { Batch, Projection } from './projection';

/** The promise itself, marked handled: it is awaited later, and must not count as unhandled if something else fails first. */
const settled = <T>(promise: Promise<T>): Promise<T> => {
  promise.catch(() => undefined);
  return promise;
};

/**
 * Replays the whole log into empty tables in one transaction and one pass over the log for all
 * the given projections. It holds their checkpoint rows, so live runners wait and then carry
 * on from the rebuilt position; readers of the tables wait for the commit (TRUNCATE) and never
 * see a half-built model. While the transaction writes one batch, the next one is found and
 * prepared on other connections.
 */
export async function rebuildProjections(
  pool: Pool,
  store: PostgresEventStore,
  projections: readonly Projection[],
  onProgress: (events: number) => void = () => undefined,
  batchSize = 5000,
): Promise<number> {
  const rebuilders = projections.map((p) => p.forRebuild?.() ?? p);
  const rangeAfter = (after: string) => settled(store.readAllRange({ after, limit: batchSize }));
  const prepare = (batch: Batch) => settled(Promise.all(rebuilders.map((p) => p.prepare?.(pool, batch))));
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    for (const p of projections) await lockCheckpoint(tx, p.name);
    await tx.query(`TRUNCATE ${projections.flatMap((p) => p.tables).join(', ')}`);
    let after = START_POSITION;
    let total = 0;
    let next = await rangeAfter(after);
    let nextPrepared = next && prepare(next);
    while (next && nextPrepared) {
      const batch = next;
      const prepared = nextPrepared;
      next = await rangeAfter(batch.through);
      nextPrepared = next && prepare(next);
      const inputs = await prepared;
      for (const [i, p] of rebuilders.entries()) await p.apply(tx, batch, inputs[i]);
      after = batch.through;
      total += batch.count;
      onProgress(total);
    }
    for (const p of projections) {
      await tx.query('UPDATE projection_checkpoints SET events = 0 WHERE name = $1', [p.name]);
      await saveCheckpoint(tx, p.name, after, total);
    }
    await tx.query('COMMIT');
    return total;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

/** Rebuilds one projection (see rebuildProjections). */
export function rebuildProjection(
  pool: Pool,
  store: PostgresEventStore,
  projection: Projection,
  onProgress?: (events: number) => void,
  batchSize?: number,
): Promise<number> {
  return rebuildProjections(pool, store, [projection], onProgress, batchSize);
}
