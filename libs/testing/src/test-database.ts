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

export interface TestDatabase {
  url: string;
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
    name,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      await withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
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
