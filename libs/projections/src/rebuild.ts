import type { Pool } from 'pg';
import type { PostgresEventStore } from '@app/event-store';
import { lockCheckpoint, saveCheckpoint, START_POSITION } from './checkpoints';
import type { Projection } from './projection';

/**
 * Replays the whole log into empty tables in one transaction and one pass over the log for all
 * the given projections. It holds their checkpoint rows, so live runners wait and then carry
 * on from the rebuilt position; readers of the tables wait for the commit (TRUNCATE) and never
 * see a half-built model.
 */
export async function rebuildProjections(
  pool: Pool,
  store: PostgresEventStore,
  projections: readonly Projection[],
  onProgress: (events: number) => void = () => undefined,
  batchSize = 5000,
): Promise<number> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    for (const p of projections) await lockCheckpoint(tx, p.name);
    await tx.query(`TRUNCATE ${projections.flatMap((p) => p.tables).join(', ')}`);
    let after: string | null = null;
    let total = 0;
    // Read the next page (on another connection) while this one is applied.
    const readAhead = (from: string | null) => {
      const promise = store.readAll({ after: from, limit: batchSize });
      promise.catch(() => undefined); // awaited below; never an unhandled rejection if apply fails first
      return promise;
    };
    let next = readAhead(null);
    for (;;) {
      const page = await next;
      if (page.events.length === 0) break;
      after = page.nextPosition;
      next = readAhead(after);
      for (const p of projections) await p.apply(tx, page.events);
      total += page.events.length;
      onProgress(total);
    }
    for (const p of projections) {
      await tx.query('UPDATE projection_checkpoints SET events = 0 WHERE name = $1', [p.name]);
      await saveCheckpoint(tx, p.name, after ?? START_POSITION, total);
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
