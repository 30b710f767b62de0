import { rmSync } from 'node:fs';
import { withAdmin } from './test-database';

export default async function globalTeardown(): Promise<void> {
  const admin = process.env.CS_TEST_ADMIN_URL;
  if (admin) {
    await withAdmin(admin, async (c) => {
      const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
        `cs_${process.pid}_%`,
      ]);
      for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    });
  }
  const holder = (globalThis as Record<string, unknown>).__CS_RUN_LOCK__ as { end(): Promise<void> } | undefined;
  await holder?.end().catch(() => undefined);
  const pg = (globalThis as Record<string, unknown>).__CS_EMBEDDED_PG__ as { stop(): Promise<void> } | undefined;
  await pg?.stop();
  const keyDir = (globalThis as Record<string, unknown>).__CS_CONTENT_KEY_DIR__ as string | undefined;
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
}
