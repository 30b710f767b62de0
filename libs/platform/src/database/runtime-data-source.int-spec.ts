import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { preparedQuery } from './prepared-query';
import { connectionOf, openRuntimeDataSource, poolOf } from './runtime-data-source';

const SETTINGS = {
  dbStatementTimeoutMs: 1500,
  dbIdleInTransactionTimeoutMs: 60_000,
  max: 2,
  connectTimeoutMs: 2000,
  applicationName: 'ds-test',
};

describe(openRuntimeDataSource.name, () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await openRuntimeDataSource(db.runtimeUrl, SETTINGS, []);
  });
  afterAll(async () => {
    if (ds.isInitialized) await ds.destroy();
    await db.drop();
  });

  it('connects as the runtime login, with its timeouts and name on every connection of one capped pool', async () => {
    const [row] = await ds.query(
      `SELECT current_user AS u, current_setting('statement_timeout') AS s,
              current_setting('idle_in_transaction_session_timeout') AS i, current_setting('application_name') AS a`,
    );
    expect(row).toEqual({ u: 'cs_test_runtime', s: '1500ms', i: '1min', a: 'ds-test' });
    const pool = poolOf(ds);
    const held = await Promise.all([pool.connect(), pool.connect()]);
    const third = ds.query('SELECT 1');
    while (pool.waitingCount === 0) await new Promise((r) => setTimeout(r, 5));
    expect(pool.totalCount).toBe(2);
    held.forEach((c) => c.release());
    await third;
  });

  it("hands a transaction's own connection to SQL that must commit with it", async () => {
    const pids = await ds.transaction(async (tx) => {
      const [{ pid }] = await tx.query('SELECT pg_backend_pid() AS pid');
      const { rows } = await (await connectionOf(tx)).query('SELECT pg_backend_pid() AS pid');
      return [pid, rows[0].pid];
    });
    expect(pids[0]).toBe(pids[1]);
    await expect(connectionOf(ds.manager)).rejects.toThrow(/open transaction/);
  });

  describe(preparedQuery.name, () => {
    it('takes the values by name, in whatever order the builder placed them', async () => {
      const q = preparedQuery(ds, 'prepared_test', ['b', 'a'], (p) =>
        ds
          .createQueryBuilder()
          .select('CAST(:a AS text)', 'a')
          .addSelect('CAST(:b AS text)', 'b')
          .from('pg_class', 'c')
          .where('c.relname = :b', p)
          .limit(1),
      );
      expect(await q({ a: 'first', b: 'pg_class' })).toEqual([{ a: 'first', b: 'pg_class' }]);
      expect(await q({ a: 'again', b: 'no such table' })).toEqual([]);
    });

    it('refuses a builder whose statement has a parameter it was not told of', async () => {
      const q = preparedQuery(ds, 'prepared_bad', ['a'], () =>
        ds.createQueryBuilder().select('1').from('pg_class', 'c').where('c.relname = :x', { x: 'x' }),
      );
      await expect(q({ a: 'a' })).rejects.toThrow(/parameter x is not one of a/);
    });
  });
});
