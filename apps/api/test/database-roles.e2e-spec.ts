import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { withAdmin, adminUrl } from '@app/testing';
import { PG_POOL } from '../src/database/database.providers';
import { startTestApp, TestApp } from './support/test-app';

/**
 * The service checks its own database rights at start and says what it found on /health;
 * /health never shows the database's own words to callers.
 */
describe('database roles', () => {
  describe('as the least-privileged runtime login (how every e2e test runs the service)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ STRICT_DB_PRIVILEGES: 'true', DB_STATEMENT_TIMEOUT_MS: '1500' });
    });
    afterAll(() => t.close());

    it('starts under STRICT_DB_PRIVILEGES=true and /health reports privileges "least"', async () => {
      const res = await t.http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body.info.database).toEqual({ status: 'up', privileges: 'least' });
    });

    it('runs its pool with the statement and idle-in-transaction timeouts of the configuration', async () => {
      const { rows } = await t.app
        .get<Pool>(PG_POOL)
        .query(
          `SELECT current_user AS u, current_setting('statement_timeout') AS s, ` +
            `current_setting('idle_in_transaction_session_timeout') AS i`,
        );
      expect(rows[0]).toEqual({ u: 'cs_test_runtime', s: '1500ms', i: '1min' });
    });
  });

  describe('as the owner', () => {
    afterEach(() => jest.restoreAllMocks());

    it('warns at start, naming the risk, and /health reports privileges "owner"', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const t = await startTestApp({}, { asOwner: true });
      try {
        expect(warn.mock.calls.map((c) => String(c[0]))).toContainEqual(
          expect.stringMatching(
            /is a superuser.*could disable the append-only triggers of es_events and rewrite the record/,
          ),
        );
        expect((await t.http().get('/health')).body.database).toEqual({ status: 'up', privileges: 'owner' });
      } finally {
        await t.close();
      }
    });

    it('refuses to start under STRICT_DB_PRIVILEGES=true, saying what to create and grant', async () => {
      await expect(startTestApp({ STRICT_DB_PRIVILEGES: 'true' }, { asOwner: true })).rejects.toThrow(
        new RegExp(
          'STRICT_DB_PRIVILEGES=true refuses to start: .* CREATE ROLE conversations_service LOGIN ' +
            '.*GRANT conversations_app TO conversations_service',
        ),
      );
    });
  });

  describe('when the database refuses the service', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    it("answers /health 503 with the database down, and none of the server's error text", async () => {
      await withAdmin(adminUrl(), async (c) => {
        // Refuses everyone, superusers too; then the pool's idle connections are ended.
        await c.query(`ALTER DATABASE "${t.db.name}" ALLOW_CONNECTIONS false`);
        await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [t.db.name]);
      });
      const res = await t.http().get('/health');
      expect(res.status).toBe(503);
      expect(res.body.checks.error.database).toEqual({ status: 'down' });
      const text = JSON.stringify(res.body);
      for (const leak of ['not currently accepting', 'connection', 'cs_test_runtime', t.db.name, 'terminat'])
        expect(text).not.toContain(leak);
    });
  });
});
