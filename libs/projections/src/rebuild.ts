import type { Pool } from 'pg';
import type { PostgresEventStore } from '@app/event-store';
import { lockCheckpoint, saveCheckpoint, START_POSITION } from './checkpoints';
import type { Projection } from './projection';

/**
 * Replays the whole log into empty tables in one transaction. It holds the checkpoint row, so
 * a live runner waits and then carries on from the rebuilt position; readers of the tables wait
 * for the commit (TRUNCATE) and never see a half-built model.
 */
export async function rebuildProjection(
  pool: Pool,
  store: PostgresEventStore,
  projection: Projection,
  onProgress: (events: number) => void = () => undefined,
  batchSize = 5000,
): Promise<number> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    await lockCheckpoint(tx, projection.name);
    await tx.query(`TRUNCATE ${projection.tables.join(', ')}`);
    let after: string | null = null;
    let total = 0;
    for (;;) {
      const page = await store.readAll({ after, limit: batchSize });
      if (page.events.length === 0) break;
      await projection.apply(tx, page.events);
      total += page.events.length;
      after = page.nextPosition;
      onProgress(total);
    }
    await tx.query('UPDATE projection_checkpoints SET events = 0 WHERE name = $1', [projection.name]);
    await saveCheckpoint(tx, projection.name, after ?? START_POSITION, total);
    await tx.query('COMMIT');
    return total;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}
