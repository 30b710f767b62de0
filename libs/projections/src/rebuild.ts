import type { Pool } from 'pg';
import type { PostgresEventStore } from '@app/event-store';
import { lockCheckpoint, saveCheckpoint, START_POSITION } from './checkpoints';
import type { Batch, Projection } from './projection';

/** Batches a rebuild prepares ahead of the one it writes. */
const AHEAD = 3;

/**
 * The promise itself, marked handled: it is awaited later, and must not count as unhandled if
 * something else fails first.
 */
const settled = <T>(promise: Promise<T>): Promise<T> => {
  promise.catch(() => undefined);
  return promise;
};

/** The i-th batch of the log (null past its end). */
type BatchAt = (i: number) => Promise<Batch | null>;

/**
 * The log's batches in order, each found once (readAllRange) and shared by every projection
 * being rebuilt: they all end at the same position.
 */
function batchesOf(store: PostgresEventStore, batchSize: number): BatchAt {
  const found: Promise<Batch | null>[] = [];
  return (i) => {
    for (let k = found.length; k <= i; k++) {
      const after =
        k === 0 ? Promise.resolve<string | null>(START_POSITION) : found[k - 1].then((b) => b?.through ?? null);
      found.push(
        settled(after.then((from) => (from === null ? null : store.readAllRange({ after: from, limit: batchSize })))),
      );
    }
    return found[i];
  };
}

/**
 * Replays the whole log into one projection's emptied tables, in one transaction that holds
 * its checkpoint row: a live runner waits, then carries on from the rebuilt position; readers
 * of the tables wait for the commit (TRUNCATE) and never see a half-built model. While the
 * transaction writes one batch, the next one is found and prepared on other connections.
 */
async function rebuildOne(
  pool: Pool,
  projection: Projection,
  batchAt: BatchAt,
  onProgress: (events: number) => void,
): Promise<number> {
  const rebuilder = projection.forRebuild?.() ?? projection;
  // Up to AHEAD batches found and being prepared beyond the one the transaction writes.
  const ahead: { batch: Batch; prepared: Promise<unknown> }[] = [];
  let index = 0;
  let exhausted = false;
  const lookAhead = async () => {
    while (!exhausted && ahead.length < AHEAD) {
      const batch = await batchAt(index++);
      if (!batch) {
        exhausted = true;
        return;
      }
      ahead.push({ batch, prepared: settled(Promise.resolve(rebuilder.prepare?.(pool, batch))) });
    }
  };
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    await lockCheckpoint(tx, projection.name);
    await tx.query(`TRUNCATE ${projection.tables.join(', ')}`);
    let after = START_POSITION;
    let total = 0;
    await lookAhead();
    for (let next = ahead.shift(); next; next = ahead.shift()) {
      const looking = settled(lookAhead());
      await rebuilder.apply(tx, next.batch, await next.prepared);
      await looking;
      after = next.batch.through;
      total += next.batch.count;
      onProgress(total);
    }
    await tx.query('UPDATE projection_checkpoints SET events = 0 WHERE name = $1', [projection.name]);
    await saveCheckpoint(tx, projection.name, after, total);
    await tx.query('COMMIT');
    return total;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

/**
 * Rebuilds the given projections from the log (see rebuildOne), side by side, each in its own
 * transaction on its own connection: the database writes them on as many cores as it has. They
 * share the batches (batchesOf), so they all end at the same position.
 * Each rebuild holds a connection and borrows others to look ahead, so at most half the pool's
 * connections rebuild at once. Each projection's tables are replaced at once; if one fails, it
 * keeps its old tables and position, the others still complete, and the first failure is
 * thrown. Progress is the slowest projection's; returns the events replayed.
 */
export async function rebuildProjections(
  pool: Pool,
  store: PostgresEventStore,
  projections: readonly Projection[],
  onProgress: (events: number) => void = () => undefined,
  batchSize = 5000,
): Promise<number> {
  const evidence = projections.find((p) => p.evidence);
  if (evidence) throw new Error(`${evidence.name} keeps evidence: it is never rebuilt (its tables are append-only)`);
  const batchAt = batchesOf(store, batchSize);
  const done = projections.map(() => 0);
  const results: PromiseSettledResult<number>[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < projections.length; i = next++) {
      results[i] = await rebuildOne(pool, projections[i], batchAt, (events) => {
        done[i] = events;
        onProgress(Math.min(...done));
      }).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      );
    }
  };
  const lanes = Math.max(1, Math.min(projections.length, Math.floor((pool.options.max ?? 10) / 2)));
  await Promise.all(Array.from({ length: lanes }, lane));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return Math.max(0, ...results.map((r) => (r as PromiseFulfilledResult<number>).value));
}
