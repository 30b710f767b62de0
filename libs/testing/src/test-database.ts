import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

/**
 * Each test file gets its own database, cloned from the template that the global setup
 * migrated once. Names carry the jest run's pid so that runs never drop each other's.
 */
export function adminUrl(): string {
  const url = process.env.CS_TEST_ADMIN_URL;
  if (!url) throw new Error('CS_TEST_ADMIN_URL is not set: run integration tests through jest (global setup)');
  return url;
}

export function databaseUrl(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * The login the services under test run as: granted only conversations_app, so every e2e
 * test proves the runtime's rights suffice. Cluster-wide, created once (ensureTestRuntimeRole);
 * its password only matters on the embedded server (127.0.0.1:5432 trusts local connections).
 */
export const TEST_RUNTIME_ROLE = 'cs_test_runtime';
const TEST_RUNTIME_PASSWORD = 'cs_test_runtime';

/** The same database, as the least-privileged runtime login. */
export function runtimeUrlOf(url: string): string {
  const u = new URL(url);
  u.username = TEST_RUNTIME_ROLE;
  u.password = TEST_RUNTIME_PASSWORD;
  return u.toString();
}

/** Creates the runtime login and grants it conversations_app; parallel runs may race on it. */
export async function ensureTestRuntimeRole(admin: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdmin(admin, async (c) => {
        await c.query(`DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${TEST_RUNTIME_ROLE}') THEN
            CREATE ROLE ${TEST_RUNTIME_ROLE} LOGIN PASSWORD '${TEST_RUNTIME_PASSWORD}';
          END IF;
        END $$`);
        const { rows } = await c.query(
          `SELECT pg_has_role('${TEST_RUNTIME_ROLE}', 'conversations_app', 'MEMBER') AS member`,
        );
        if (!rows[0].member) await c.query(`GRANT conversations_app TO ${TEST_RUNTIME_ROLE}`);
      });
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

export interface TestDatabase {
  /** The owner's (superuser's) connection: migrations, fixtures, tampering. */
  url: string;
  /** The runtime's connection (TEST_RUNTIME_ROLE), as the service runs. */
  runtimeUrl: string;
  name: string;
  pool: Pool;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = adminUrl();
  const template = process.env.CS_TEST_TEMPLATE!;
  const name = `${template.replace(/_template$/, '')}_${randomBytes(4).toString('hex')}`;
  await withAdmin(admin, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  const url = databaseUrl(admin, name);
  const pool = new Pool({ connectionString: url, max: 20 });
  // pool.end() resolves before idle clients have closed; DROP ... WITH (FORCE) may then end them.
  pool.on('error', () => undefined);
  return {
    url,
    runtimeUrl: runtimeUrlOf(url),
    name,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      await withAdmin(admin, async (c) => {
        // A test's own pools end the same way: their sessions may still be closing. Ended by FORCE,
        // an idle client errors in its pool, unhandled where the test gave the pool no listener (the
        // test then fails for nothing): let them go first, a second at most.
        for (let waited = 0; waited < 1000; waited += 25) {
          const { rows } = await c.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [name],
          );
          if (rows[0].n === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    },
  };
}

export async function withAdmin<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Waits until commit-order readers see at least `count` events: an event is readable once every
 * older transaction on the server has ended, other test runs' included, so a test that reads the
 * whole log right after writing it waits for that first.
 */
export async function untilLogVisible(pool: Pool, count: number): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM es_events WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())',
    );
    if (rows[0].n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
