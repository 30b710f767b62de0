import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../../platform/src/database/data-source-options';
import { startEmbeddedPostgres } from '../../platform/src/database/embedded-postgres';
import { databaseAnswers } from '../../platform/src/database/resolve-database';
import { databaseUrl, ensureTestRuntimeRole, withAdmin } from './test-database';

const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs hold a session advisory lock on their pid for their whole life (pids of other
 * sandboxes are not visible here, the lock is). */
const RUN_LOCK = 74370;

/**
 * Real PostgreSQL for the integration and e2e tiers: TEST_DATABASE_URL, else the local server
 * on 127.0.0.1:5432 if it answers, else (or with TEST_EMBEDDED=1) an embedded server started here. Migrations run once
 * into a template database that every test file clones.
 */
export default async function globalSetup(): Promise<void> {
  let admin = process.env.TEST_DATABASE_URL;
  if (!admin) {
    if (process.env.TEST_EMBEDDED !== '1' && (await databaseAnswers(LOCAL))) {
      admin = LOCAL;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'cs-test-pg-'));
      chmodSync(dir, 0o755); // the server runs as the postgres user when we are root
      const pg = await startEmbeddedPostgres({ dataDir: dir, database: 'postgres' });
      (globalThis as Record<string, unknown>).__CS_EMBEDDED_PG__ = {
        stop: async () => (await pg.stop(), rmSync(dir, { recursive: true, force: true })),
      };
      admin = pg.url;
      console.log(`\n[test] no PostgreSQL on 127.0.0.1:5432: started an embedded one in ${dir}`);
    }
  }
  const template = `cs_${process.pid}_template`;
  const holder = new Client({ connectionString: admin });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock($1, $2)', [RUN_LOCK, process.pid]);
  (globalThis as Record<string, unknown>).__CS_RUN_LOCK__ = holder;
  await withAdmin(admin, async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname ~ '^cs_[0-9]+_'`,
    );
    for (const { datname } of rows) {
      const pid = Number(datname.split('_')[1]);
      if (pid === process.pid) continue;
      const { rows: lock } = await c.query('SELECT pg_try_advisory_lock($1, $2) AS free', [RUN_LOCK, pid]);
      if (!lock[0].free) continue; // that run is still going
      await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      await c.query('SELECT pg_advisory_unlock($1, $2)', [RUN_LOCK, pid]);
    }
    await c.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${template}"`);
  });
  await runMigrations(databaseUrl(admin, template));
  await ensureTestRuntimeRole(admin);
  process.env.CS_TEST_ADMIN_URL = admin;
  process.env.CS_TEST_TEMPLATE = template;
  process.env.CONTENT_KEY_FILE = testMasterKeyFile();
}

/**
 * The master key every test process and every service the tests start wraps content keys with
 * (CONTENT_KEY_FILE, inherited by the workers): a file of its own in a private temporary
 * directory, one line of base64 like `content-key:create` writes, readable by its owner only.
 */
function testMasterKeyFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cs-test-content-key-'));
  const file = join(dir, 'content-key');
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  (globalThis as Record<string, unknown>).__CS_CONTENT_KEY_DIR__ = dir;
  return file;
}
