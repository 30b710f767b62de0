import type { Response } from 'supertest';
import { Client as PgClient } from 'pg';
import { as, startTestApp, TestApp } from './support/test-app';
import { Client, path, startConversation, uuid } from './support/scenario';
import { TcpProxy } from './support/tcp-proxy';

const CONVERSATION = uuid(0xdb);

function expectUnavailable(res: Response, code: 'DATABASE_UNAVAILABLE' | 'DATABASE_TIMEOUT'): void {
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 503, code });
  expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  // The server's own words (hosts, roles, SQL) stay in the log.
  expect(JSON.stringify(res.body)).not.toMatch(/ECONN|127\.0\.0\.1|statement|terminat|postgres/i);
}

/** A database that is down, hung or slow is answered 503 with Retry-After, quickly, never 500. */
describe('Database failures', () => {
  describe('unreachable', () => {
    let t: TestApp;
    let proxy: TcpProxy;
    let writer: Client;
    beforeAll(async () => {
      proxy = await TcpProxy.start(process.env.CS_TEST_ADMIN_URL!);
      t = await startTestApp(
        { PROJECTIONS_IN_PROCESS: 'false', DB_CONNECT_TIMEOUT_MS: '500' },
        { connectVia: (url) => proxy.urlFor(url) },
      );
      writer = as(t, await t.key('writer', 'acme'));
      await startConversation(writer, CONVERSATION);
    });
    afterEach(() => proxy.restore());
    afterAll(async () => {
      await t.close();
      await proxy.close();
    });

    it('answers 503 DATABASE_UNAVAILABLE when the server refuses connections', async () => {
      await proxy.refuse();
      expectUnavailable(await writer.get(path(CONVERSATION)), 'DATABASE_UNAVAILABLE');
      await proxy.restore();
      expect((await writer.get(path(CONVERSATION))).status).toBe(200);
    });

    it(
      'answers 503 DATABASE_UNAVAILABLE after the connect ' + 'timeout when the server accepts and never answers',
      async () => {
        await proxy.swallow();
        expectUnavailable(await writer.get(path(CONVERSATION)), 'DATABASE_UNAVAILABLE');
      },
      20_000,
    );
  });

  describe('slow or shut down', () => {
    let t: TestApp;
    let writer: Client;
    let locker: PgClient;
    beforeAll(async () => {
      t = await startTestApp({ PROJECTIONS_IN_PROCESS: 'false', DB_STATEMENT_TIMEOUT_MS: '3000' });
      writer = as(t, await t.key('writer', 'acme'));
      await startConversation(writer, CONVERSATION);
      expect((await writer.get(path(CONVERSATION))).status).toBe(200);
    });
    beforeEach(async () => {
      // Every read of a conversation waits on this lock.
      locker = new PgClient({ connectionString: t.db.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE es_events IN ACCESS EXCLUSIVE MODE');
    });
    afterEach(async () => {
      await locker.query('ROLLBACK');
      await locker.end();
    });
    afterAll(() => t.close());

    it('answers 503 DATABASE_TIMEOUT when a statement runs past statement_timeout', async () => {
      expectUnavailable(await writer.get(path(CONVERSATION)), 'DATABASE_TIMEOUT');
    });

    it('answers 503 DATABASE_UNAVAILABLE when an administrator ends the session', async () => {
      const answer = writer.get(path(CONVERSATION)).then((r) => r);
      for (let terminated = 0; terminated === 0;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        // Not on the locker: its transaction would see one cached snapshot of pg_stat_activity.
        const { rows } = await t.db.pool.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock'`,
        );
        terminated = rows[0].n;
      }
      expectUnavailable(await answer, 'DATABASE_UNAVAILABLE');
    });
  });
});
