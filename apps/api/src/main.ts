import 'reflect-metadata';
import { AppConfig, ConfigError, loadConfig, ResolvedDatabase, resolveDatabase, runMigrations } from '@app/platform';
import { ensureDefaultSigningKey } from '@app/transparency';
import { createApp } from './app.factory';
import { loadPolicies } from './conversations/policies';

async function main(): Promise<void> {
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
  const say = (line: string) => console.log(`[conversation-service] ${line}`);
  const database = await resolveDatabase(config, say);
  say(`database: ${database.source}`);
  try {
    await serve(config, database, say);
  } catch (err) {
    // A start that fails (port taken, migration error) must not leave an embedded server behind.
    await database.release().catch(() => undefined);
    throw err;
  }
}

async function serve(config: AppConfig, database: ResolvedDatabase, say: (line: string) => void): Promise<void> {
  // Migrations as the owner; the service itself runs with the runtime connection.
  const applied = await runMigrations(database.migrationUrl);
  if (applied.length) say(`applied migrations: ${applied.join(', ')}`);

  // The embedded default signs with a key kept beside its database files (created once, 0600).
  if (!config.transparencyLog.signingKeyFile && database.source !== 'DATABASE_URL') {
    const signingKeyFile = ensureDefaultSigningKey(config.dataDir);
    config = { ...config, transparencyLog: { ...config.transparencyLog, signingKeyFile } };
    say(`signing key: ${signingKeyFile}`);
  }
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

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
