import fc from 'fast-check';
import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ConversationDriver } from '../test/conversation-driver';
import { play, scriptArbitrary } from '../test/command-script';
import { allEventIds, catchUp, eventually, FAST, lagOf, sleep } from '../test/runner-fixtures';
import { tableRows } from '@app/testing';
import {
  ALL_PROJECTIONS,
  ProjectionRunner,
  projectionLags,
  readCheckpoints,
  rebuildProjections,
  threadStatusProjection,
} from './index';
import { threadStatusRebuild } from './read-models/thread-status.projection';

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
  store = new PostgresEventStore(pool);
});
afterAll(() => db.drop());

describe(rebuildProjections.name, () => {
  const tablesOf = async () =>
    Object.fromEntries(
      await Promise.all(ALL_PROJECTIONS.flatMap((p) => p.tables).map(async (t) => [t, await tableRows(pool, t)])),
    );
  const scripts = (seed: number, n: number) => fc.sample(scriptArbitrary, { seed, numRuns: n });
  const startAt = (i: number) => new Date(Date.parse('2025-10-01T00:00:00.000Z') + i * 7 * 3600_000).toISOString();

  it('gives exactly the same rows as the live tables, for every projection', async () => {
    await Promise.all(
      scripts(7, 12).map((s, i) =>
        play(
          new ConversationDriver(store, { tenantId: `rb-${i % 3}`, modelId: s.modelId, startAt: startAt(i) }),
          s.steps,
        ),
      ),
    );
    for (const p of ALL_PROJECTIONS) await catchUp(pool, store, p);
    const live = await tablesOf();
    expect(live.rm_ends.length).toBeGreaterThan(0);
    const total = (await allEventIds(pool)).length;
    for (const p of ALL_PROJECTIONS) expect(await rebuildProjections(pool, store, [p], undefined, 7)).toBe(total);
    expect(await tablesOf()).toEqual(live);
  });

  it(
    'folds thread status the same when states leave the ' + "rebuild's memory and are read back from the table",
    async () => {
      const live = await tableRows(pool, 'rm_conversations');
      // Two states kept at most, seven events a batch: the interleaved conversations are evicted
      // and read back again and again.
      const forgetful = { ...threadStatusProjection, forRebuild: () => threadStatusRebuild(2) };
      await rebuildProjections(pool, store, [forgetful], undefined, 7);
      expect(await tableRows(pool, 'rm_conversations')).toEqual(live);
    },
  );

  it('rebuilds every projection at once, side by side, also on a pool of two connections', async () => {
    const live = await tablesOf();
    const small = new Pool({ connectionString: db.url, max: 2 });
    const progress: number[] = [];
    try {
      const total = await rebuildProjections(
        small,
        new PostgresEventStore(small),
        ALL_PROJECTIONS,
        (n) => progress.push(n),
        10,
      );
      expect(total).toBe((await allEventIds(pool)).length);
      expect(progress.at(-1)).toBe(total);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    } finally {
      await small.end();
    }
    expect(await tablesOf()).toEqual(live);
    const checkpoints = await readCheckpoints(pool);
    expect(new Set(checkpoints.map((c) => c.position)).size).toBe(1);
  });

  it('gives the same rows while live runners keep projecting new appends', async () => {
    const runners = ALL_PROJECTIONS.map((p) => new ProjectionRunner(pool, store, p, FAST));
    runners.forEach((r) => r.start());
    try {
      // Each rebuild runs while four conversations are being written and projected live.
      for (const [i, p] of ALL_PROJECTIONS.entries()) {
        const writing = Promise.all(
          scripts(1000 + i, 4).map((s, w) =>
            play(
              new ConversationDriver(store, { tenantId: `rb-${w}`, modelId: s.modelId, startAt: startAt(20 + i) }),
              s.steps,
            ),
          ),
        );
        await sleep(5);
        await rebuildProjections(pool, store, [p], undefined, 9);
        await writing;
      }
      await eventually('every projection to catch up', async () =>
        (
          await projectionLags(
            pool,
            ALL_PROJECTIONS.map((p) => p.name),
          )
        ).every((l) => l.lagEvents === 0),
      );
    } finally {
      await Promise.all(runners.map((r) => r.stop()));
    }
    const live = await tablesOf();
    for (const p of ALL_PROJECTIONS) await rebuildProjections(pool, store, [p]);
    expect(await tablesOf()).toEqual(live);
  });

  it('makes a live runner that falls behind wait for the rebuild, then carry on from its end', async () => {
    for (const [i, p] of ALL_PROJECTIONS.entries()) {
      // Events the live runner has not applied yet when the rebuild starts.
      const [s] = scripts(2000 + i, 1);
      await play(
        new ConversationDriver(store, { tenantId: 'rb-late', modelId: s.modelId, startAt: startAt(40 + i) }),
        s.steps,
      );
      expect(await lagOf(pool, p.name)).toBeGreaterThan(0);

      // The rebuild stops at its second range, tables emptied and transaction open; the live
      // runner starts meanwhile and must not apply those events on top of the rebuilt ones.
      let resume!: () => void;
      let paused!: () => void;
      const held = new Promise<void>((r) => (resume = r));
      const reached = new Promise<void>((r) => (paused = r));
      let reads = 0;
      const pausing = Object.create(store) as PostgresEventStore;
      pausing.readAllRange = async (options) => {
        if (++reads === 2) {
          paused();
          await held;
        }
        return store.readAllRange(options);
      };
      const rebuilding = rebuildProjections(pool, pausing, [p], undefined, 20);
      await reached;
      const runner = new ProjectionRunner(pool, store, p, FAST);
      runner.start();
      try {
        await eventually('the live runner to take its lease', () => runner.active);
        await sleep(100);
        resume();
        await rebuilding;
        await eventually(`${p.name} to catch up`, async () => (await lagOf(pool, p.name)) === 0);
      } finally {
        resume();
        await runner.stop();
      }
    }
    for (const p of ALL_PROJECTIONS) await catchUp(pool, store, p);
    const live = await tablesOf();
    for (const p of ALL_PROJECTIONS) await rebuildProjections(pool, store, [p]);
    expect(await tablesOf()).toEqual(live);
  });
});
