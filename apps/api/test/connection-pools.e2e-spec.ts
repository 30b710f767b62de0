import { getDataSourceToken } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { poolOf } from '@app/platform';
import { ApiKeyEntity } from '@app/access';
import { AUDIT_DATA_SOURCE, AUDIT_POOL, PG_POOL } from '../src/database/database.providers';
import { startTestApp, TestApp } from './support/test-app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each DataSource owns one pool, and the SQL written by hand runs on it: the service opens
 * DB_POOL_SIZE connections for commands and reads and AUDIT_POOL_SIZE for the heavy audit
 * reads, never a second pool beside a DataSource's, and closes each pool once when it stops.
 */
describe('connection pools', () => {
  let t: TestApp;
  let pool: Pool;
  let auditPool: Pool;

  beforeAll(async () => {
    t = await startTestApp({ DB_POOL_SIZE: '3', AUDIT_POOL_SIZE: '2', PROJECTIONS_IN_PROCESS: 'false' });
    pool = t.app.get(PG_POOL);
    auditPool = t.app.get(AUDIT_POOL);
  });
  afterAll(() => t.close());

  /** The app's connections (as the runtime login) by application_name, from pg_stat_activity. */
  async function connections(): Promise<Record<string, number>> {
    const { rows } = await t.db.pool.query<{ name: string; n: number }>(
      `SELECT application_name AS name, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND usename = 'cs_test_runtime' GROUP BY 1`,
      [t.db.name],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.n]));
  }

  it('gives the hand-written SQL the pools the DataSources own', () => {
    // Compared as booleans: a failing toBe would print two whole pools.
    const owned = [poolOf(t.app.get(DataSource)), poolOf(t.app.get<DataSource>(getDataSourceToken(AUDIT_DATA_SOURCE)))];
    expect([pool === owned[0], auditPool === owned[1], pool === auditPool]).toEqual([true, true, false]);
  });

  it('opens exactly the pool sizes when both are full, and the repositories wait on the same connections', async () => {
    const held: PoolClient[] = await Promise.all(
      [...Array(3)].map(() => pool.connect()).concat([...Array(2)].map(() => auditPool.connect())),
    );
    try {
      expect(await connections()).toEqual({
        'conversation-service': 3,
        'conversation-service (audit)': 2,
        // one LISTEN connection each: appends, API key revocations, and destroyed content keys
        'conversation-service-listen': 1,
        'conversation-service-keys': 1,
        'conversation-service-content-keys': 1,
      });
      // A repository's query queues behind the held connections: it has no pool of its own.
      const counted = t.dataSource.getRepository(ApiKeyEntity).count();
      while (pool.waitingCount === 0) await sleep(5);
      expect([pool.totalCount, pool.waitingCount]).toEqual([3, 1]);
      held[0].release();
      held.shift();
      await expect(counted).resolves.toBe(0);
    } finally {
      held.forEach((c) => c.release());
    }
  });
});

describe('connection pools at shutdown', () => {
  it('closes each pool once, and leaves no connection of the service behind', async () => {
    const t = await startTestApp({ PROJECTIONS_IN_PROCESS: 'true' });
    const pools = [t.app.get<Pool>(PG_POOL), t.app.get<Pool>(AUDIT_POOL)];
    const ends = pools.map((p) => jest.spyOn(p, 'end'));
    await t.app.close();
    try {
      expect(ends.map((e) => e.mock.calls.length)).toEqual([1, 1]);
      expect(pools.map((p) => [p.ended, p.totalCount])).toEqual([
        [true, 0],
        [true, 0],
      ]);
      const left = async () =>
        (
          await t.db.pool.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = 'cs_test_runtime'`,
            [t.db.name],
          )
        ).rows[0].n;
      for (let tries = 0; (await left()) > 0 && tries < 100; tries++) await sleep(20);
      expect(await left()).toBe(0);
    } finally {
      await t.db.drop();
    }
  });
});
