import { Pool } from 'pg';
import { listEnds } from '@app/audit';
import { HARM_CATEGORIES } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, endsProjection, rebuildProjections } from '@app/projections';
import { seedConversations } from '@app/application';
import { benchContentSealer } from './content-key';
import { median } from './stats';

export interface AuditBenchResult {
  auditQuery: { small: number; large: number; smallEvents: number; largeEvents: number };
  projectionRebuild: { rebuild: number; rawRead: number };
}

/** Events of conversation streams (other benchmarks may share the database). */
async function eventCount(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM es_events WHERE stream_id LIKE 'conversation-%'`,
  );
  return Number(rows[0].n);
}

/** Seeds through the store (the `seed` CLI command) until the log holds about `target` events. */
async function seedTo(pool: Pool, target: number, seed: number, log: (m: string) => void): Promise<void> {
  const missing = target - (await eventCount(pool));
  if (missing <= 0) return;
  const started = Date.now();
  // 64 conversations at a time: the store's group commit writes about twice as many events per second as
  // at 16, and the seeded data does not depend on it (plans are drawn in index order).
  const options = {
    events: missing,
    tenants: 3,
    seed,
    days: 28,
    concurrency: 64,
    from: Date.parse('2025-09-01T00:00:00Z'),
  };
  let seeded = 0;
  let said = started;
  // Seeding a million events takes minutes: say how far it is.
  await seedConversations(pool, benchContentSealer(pool), options, () => {
    seeded++;
    if (Date.now() - said < 15_000) return;
    said = Date.now();
    log(`seeding: ${seeded} of ${missing} events`);
  });
  log(`seeded ${missing} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The log at rest, as autovacuum leaves it (it may be off on a test server).
  await pool.query('VACUUM ANALYZE');
}

/** Median milliseconds of the first page of ends for one reason, rotating reasons. */
async function endsPageMedian(pool: Pool, runs = 41): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs + 5; i++) {
    const reasonCode = HARM_CATEGORIES[i % HARM_CATEGORIES.length];
    const t0 = process.hrtime.bigint();
    await listEnds(pool, { reasonCode }, { limit: 50 });
    if (i >= 5) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return Math.round(median(times) * 1000) / 1000;
}

/** Events per second of a plain commit-order read of the whole log (the rebuild's baseline). */
async function rawReadRate(store: PostgresEventStore): Promise<number> {
  const t0 = Date.now();
  let after: string | null = null;
  let n = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: 5000 });
    if (page.events.length === 0) break;
    n += page.events.length;
    after = page.nextPosition;
  }
  return Math.round(n / ((Date.now() - t0) / 1000));
}

async function rebuildRate(pool: Pool, store: PostgresEventStore): Promise<number> {
  const t0 = Date.now();
  const n = await rebuildProjections(pool, store, ALL_PROJECTIONS);
  return Math.round(n / ((Date.now() - t0) / 1000));
}

export type AuditFigure = keyof AuditBenchResult;

/**
 * The audit query at two log sizes (it should stay index-bound), and a full rebuild of every
 * projection against a plain read of the same log, interleaved, best of two each. The log is
 * seeded once, up to the size each asked figure needs, and left for the figures after these.
 */
export async function runAuditBenchmark(
  url: string,
  log: (m: string) => void,
  sizes = { small: 100_000, large: 1_000_000 },
  figures: readonly AuditFigure[] = ['auditQuery', 'projectionRebuild'],
  /** Every read model, not only the ends, left at the head of the large log (the service's figures follow). */
  allReadModels = false,
): Promise<Partial<AuditBenchResult>> {
  const pool = new Pool({ connectionString: url, max: 24 });
  const store = new PostgresEventStore(pool);
  const result: Partial<AuditBenchResult> = {};
  try {
    await seedTo(pool, sizes.small, 101, log);
    if (figures.includes('projectionRebuild')) {
      const raw: number[] = [];
      const rebuild: number[] = [];
      for (let round = 0; round < 2; round++) {
        raw.push(await rawReadRate(store));
        rebuild.push(await rebuildRate(pool, store));
        log(`round ${round + 1}: raw read ${raw.at(-1)} events/s, rebuild ${rebuild.at(-1)} events/s`);
      }
      result.projectionRebuild = { rebuild: Math.max(...rebuild), rawRead: Math.max(...raw) };
    }
    if (!figures.includes('auditQuery')) return result;
    await pool.query('ANALYZE');
    const small = await endsPageMedian(pool);
    const smallEvents = await eventCount(pool);
    log(`ends page at ${smallEvents} events: ${small} ms`);

    await seedTo(pool, sizes.large, 202, log);
    const rebuilt = Date.now();
    await rebuildProjections(pool, store, allReadModels ? ALL_PROJECTIONS : [endsProjection]);
    log(`read models rebuilt at ${sizes.large} events in ${((Date.now() - rebuilt) / 1000).toFixed(1)} s`);
    await pool.query('ANALYZE');
    const large = await endsPageMedian(pool);
    const largeEvents = await eventCount(pool);
    log(`ends page at ${largeEvents} events: ${large} ms`);
    result.auditQuery = { small, large, smallEvents, largeEvents };
    return result;
  } finally {
    await store.close();
    await pool.end();
  }
}
