import 'reflect-metadata';
import { Pool } from 'pg';
import { APPEND_CHANNEL, PostgresEventStore } from '@app/event-store';
import {
  checkRuntimePrivileges,
  ConfigError,
  loadConfig,
  NotificationListener,
  PrivilegeRefusal,
  resolveDatabase,
  runMigrations,
  runtimeConnection,
} from '@app/platform';
import { ALL_PROJECTIONS, ProjectionRunner } from '@app/projections';

/**
 * Runs only the projections (start the API with PROJECTIONS_IN_PROCESS=false). Several
 * projectors may run: each projection is processed by the holder of its lease, the others
 * stand by and take over when it stops or dies.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const say = (line: string) => console.log(`[projector] ${line}`);
  const database = await resolveDatabase(config, say);
  await runMigrations(database.migrationUrl);
  const pool = new Pool({ ...runtimeConnection(database.url, config, 'conversation-projector'), max: ALL_PROJECTIONS.length * 2 + 2 });
  pool.on('error', () => undefined);
  await checkRuntimePrivileges(pool, { strict: config.strictDbPrivileges, warn: (m) => say(`warning: ${m}`) });
  const store = new PostgresEventStore(pool);

  const listener = new NotificationListener({
    connection: runtimeConnection(database.url, config, 'conversation-projector-listen'),
    channels: [APPEND_CHANNEL],
    warn: (m) => say(`warning: ${m}`),
  });
  await listener.start();
  const waitForChange = (ms: number) => listener.next(ms);

  const runners = ALL_PROJECTIONS.map((p) => new ProjectionRunner(pool, store, p, { waitForChange, log: say }));
  runners.forEach((r) => r.start());
  say(`running ${runners.map((r) => r.projection.name).join(', ')}`);

  const stop = async (signal: string) => {
    say(`${signal}: stopping`);
    await Promise.all(runners.map((r) => r.stop()));
    await listener.stop();
    await store.close().catch(() => undefined);
    await pool.end();
    await database.release();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof PrivilegeRefusal ? err.message : err);
  process.exit(1);
});
