import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';
import { ensureEmbeddedServiceLogin } from './embedded-service-login';

export interface ResolvedDatabase {
  /** The runtime connection (least-privileged where the operator made it so). */
  url: string;
  /** The owner's connection, for migrations. */
  migrationUrl: string;
  /** How it was found, for the start-up log. */
  source: 'DATABASE_URL' | 'embedded (started)' | 'embedded (shared)';
  release(): Promise<void>;
}

interface ServerFile {
  url: string;
  /** absent in files written before the service ran least-privileged */
  migrationUrl?: string;
  pid: number;
}

/** True when a PostgreSQL server accepts a connection at `url` (within 2 s). */
export async function databaseAnswers(url: string): Promise<boolean> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * DATABASE_URL (and MIGRATION_DATABASE_URL, default DATABASE_URL) when set. Otherwise the
 * embedded server of `dataDir`: the one a running service already started there (so the CLI
 * can work beside it), or a new one, stopped by `release()`. PostgreSQL's own lock file keeps
 * it to one server per data folder. On the embedded server migrations run as its superuser
 * and the service as a least-privileged login (ensureEmbeddedServiceLogin).
 */
export async function resolveDatabase(
  config: { databaseUrl?: string; migrationDatabaseUrl?: string; dataDir: string },
  log: (line: string) => void = () => undefined,
): Promise<ResolvedDatabase> {
  if (config.databaseUrl) {
    const migrationUrl = config.migrationDatabaseUrl ?? config.databaseUrl;
    return { url: config.databaseUrl, migrationUrl, source: 'DATABASE_URL', release: async () => undefined };
  }
  const dir = resolve(config.dataDir);
  const serverFile = join(dir, 'server.json');
  if (existsSync(serverFile)) {
    const running = JSON.parse(readFileSync(serverFile, 'utf8')) as ServerFile;
    if (processAlive(running.pid) && (await databaseAnswers(running.url))) {
      return {
        url: running.url,
        migrationUrl: running.migrationUrl ?? running.url,
        source: 'embedded (shared)',
        release: async () => undefined,
      };
    }
  }
  const pg = await startEmbeddedPostgres({ dataDir: dir, log });
  let url: string;
  try {
    url = await ensureEmbeddedServiceLogin(pg.url, dir);
  } catch (err) {
    await pg.stop();
    throw err;
  }
  writeFileSync(serverFile, JSON.stringify({ url, migrationUrl: pg.url, pid: process.pid } satisfies ServerFile), {
    mode: 0o600,
  });
  return {
    url,
    migrationUrl: pg.url,
    source: 'embedded (started)',
    async release() {
      rmSync(serverFile, { force: true });
      await pg.stop();
    },
  };
}
