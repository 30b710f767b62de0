import 'reflect-metadata';
import cluster from 'node:cluster';
import {
  AppConfig,
  ConfigError,
  loadConfig,
  resolveDatabase,
  ResolvedDatabase,
  runMigrations,
  tuneRuntime,
} from '@app/platform';
import { ensureDefaultSigningKey } from '@app/transparency';
import { ensureDefaultMasterKeyFile } from '@app/privacy';
import { createApp } from './app.factory';
import { runPrimary } from './cluster/primary';
import { workerEnv } from './cluster/worker';
import { loadPolicies } from './conversations/policies';

async function main(): Promise<void> {
  tuneRuntime();
  let config;
  try {
    config = loadConfig();
    loadPolicies(config.policyJson);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  if (cluster.isWorker) return serveWorker(config);
  const say = (line: string) => console.log(`[conversation-service] ${line}`);
  const database = await resolveDatabase(config, say);
  say(`database: ${database.source}`);
  try {
    config = await prepare(config, database, say);
    if (config.workers > 1) {
      const env = workerEnv(config, database);
      const scheme = config.tls ? 'https' : 'http';
      await runPrimary({ count: config.workers, env, scheme, host: config.host }, database, say);
    } else await serve(config, database, say);
  } catch (err) {
    // A start that fails (port taken, migration error) must not leave an embedded server behind.
    await database.release().catch(() => undefined);
    throw err;
  }
}

/** Once, before any process serves: migrations as the owner, and the embedded default's signing key. */
async function prepare(config: AppConfig, database: ResolvedDatabase, say: (line: string) => void): Promise<AppConfig> {
  const applied = await runMigrations(database.migrationUrl);
  if (applied.length) say(`applied migrations: ${applied.join(', ')}`);

  // The embedded default signs with a key kept beside its database files (created once, 0600).
  if (!config.transparencyLog.signingKeyFile && database.source !== 'DATABASE_URL') {
    const signingKeyFile = ensureDefaultSigningKey(config.dataDir);
    config = { ...config, transparencyLog: { ...config.transparencyLog, signingKeyFile } };
    say(`signing key: ${signingKeyFile}`);
  }
  // ...and the master key of content encryption, in a file of its own (created once, 0600).
  if (!config.contentKeys.keyFile && database.source !== 'DATABASE_URL') {
    const keyFile = ensureDefaultMasterKeyFile(config.dataDir);
    config = { ...config, contentKeys: { ...config.contentKeys, keyFile } };
    say(`content master key: ${keyFile} (back it up apart from the database)`);
  }
  return config;
}

async function serve(config: AppConfig, database: ResolvedDatabase, say: (line: string) => void): Promise<void> {
  const app = await createApp({ config, databaseUrl: database.url });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: closing`);
    await app.close().catch((err) => console.error(err));
    await database.release();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
  const bound = app.getHttpServer().address();
  const port = typeof bound === 'object' && bound ? bound.port : config.port;
  say(`listening on ${config.tls ? 'https' : 'http'}://${config.host}:${port} (OpenAPI at /docs)`);
}

/**
 * A worker of WORKERS > 1: the primary resolved and migrated the database and passed the
 * runtime connection (and the signing key) in its environment; the database is the primary's
 * to stop. A worker that fails to start exits 1 and the primary says so.
 */
async function serveWorker(config: AppConfig): Promise<void> {
  const say = (line: string) => console.log(`[conversation-service worker ${process.pid}] ${line}`);
  const database: ResolvedDatabase = {
    url: config.databaseUrl!,
    migrationUrl: config.databaseUrl!,
    source: 'DATABASE_URL',
    release: async () => undefined,
  };
  await serve(config, database, say);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
