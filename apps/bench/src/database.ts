import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { databaseAnswers, runMigrations, startEmbeddedPostgres } from '@app/platform';

export interface BenchDatabase {
  url: string;
  /** Where it came from, for the report. */
  source: string;
  release(): Promise<void>;
}

const LOCAL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DATABASE = 'cs_bench';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh database on the local server: every run starts from the same empty store. */
async function freshLocalDatabase(): Promise<BenchDatabase> {
  const admin = new Client({ connectionString: LOCAL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(LOCAL, DATABASE);
  await runMigrations(url);
  return { url, source: `${DATABASE} on 127.0.0.1:5432`, release: async () => undefined };
}

async function embeddedDatabase(log: (line: string) => void): Promise<BenchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-'));
  // PostgreSQL runs as the postgres user when we are root: it must reach its folder.
  chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir, database: DATABASE, log });
  try {
    await runMigrations(pg.url);
  } catch (err) {
    await pg.stop();
    throw err;
  }
  return {
    url: pg.url,
    source: 'embedded PostgreSQL (temporary)',
    async release() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * BENCH_DATABASE_URL, else DATABASE_URL (migrated, never dropped: it is someone's database),
 * else a fresh `cs_bench` on the local server, else an embedded server in a temporary folder.
 */
export async function provisionDatabase(log: (line: string) => void): Promise<BenchDatabase> {
  const given = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
  if (given) {
    await runMigrations(given);
    const source = process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'DATABASE_URL';
    return { url: given, source, release: async () => undefined };
  }
  if (await databaseAnswers(LOCAL)) return freshLocalDatabase();
  return embeddedDatabase(log);
}

/**
 * The server the bench would use, without dropping or creating cs_bench: BENCH_DATABASE_URL or
 * DATABASE_URL, else the local server, else a temporary embedded one (figures that make
 * databases of their own there).
 */
export async function benchServer(log: (line: string) => void): Promise<BenchDatabase> {
  const given = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
  if (given) return { url: given, source: 'the server of BENCH_DATABASE_URL', release: async () => undefined };
  if (await databaseAnswers(LOCAL)) return { url: LOCAL, source: '127.0.0.1:5432', release: async () => undefined };
  return embeddedDatabase(log);
}

/**
 * Before a figure that compares contenders: the server's background work from the figures before
 * it finished (every vacuum and analyze of this database done, or `maxWaitMs` passed), then a
 * CHECKPOINT, so that neither an autovacuum nor a checkpoint of the earlier figures' writes falls
 * on some rounds and not others. Fair to both sides either way; the rounds' ratios scatter less.
 * Says what it waited for; never fails the run (a server that refuses any of it: said, and on).
 * The progress views list every backend's vacuum to any role (the details only to the privileged).
 */
export async function settleDatabase(url: string, log: (line: string) => void, maxWaitMs = 60_000): Promise<void> {
  const client = new Client({ connectionString: url });
  client.on('error', (err) => log(`settle: connection lost (${err.message})`));
  const started = Date.now();
  try {
    await client.connect();
    let said = false;
    for (;;) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM pg_stat_progress_vacuum WHERE datname = current_database())
               + (SELECT count(*) FROM pg_stat_progress_analyze WHERE datname = current_database()))::int AS n`,
      );
      const busy = rows[0].n;
      if (busy === 0) break;
      if (Date.now() - started > maxWaitMs) {
        log(`settle: ${busy} vacuum or analyze still running after ${maxWaitMs / 1000} s; going on`);
        break;
      }
      if (!said) log(`settle: waiting for ${busy} vacuum or analyze (autovacuum) to finish`);
      said = true;
      await new Promise((done) => setTimeout(done, 500));
    }
    const checkpoint = Date.now();
    // CHECKPOINT needs a superuser or pg_checkpoint (PostgreSQL 15)
    await client.query('CHECKPOINT');
    log(`settle: ${((checkpoint - started) / 1000).toFixed(1)} s waiting, checkpoint ${Date.now() - checkpoint} ms`);
  } catch (err) {
    log(`settle: not settled (${err instanceof Error ? err.message : String(err)}); going on`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
