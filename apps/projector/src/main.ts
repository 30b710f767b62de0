import 'reflect-metadata';
import { APPEND_CHANNEL, PostgresEventStore } from '@app/event-store';
import {
  checkRuntimePrivileges,
  ConfigError,
  loadConfig,
  NotificationListener,
  openRuntimeDataSource,
  poolOf,
  PrivilegeRefusal,
  resolveDatabase,
  runMigrations,
  runtimeConnection,
  tuneRuntime,
} from '@app/platform';
import { ALL_PROJECTIONS, ProjectionRunner, READ_MODEL_ENTITIES } from '@app/projections';
import { SequencerProjection, sequencerRunnerOptions } from '@app/transparency';
import { RetentionScheduler } from '@app/retention';

/**
 * Runs only the projections (start the API with PROJECTIONS_IN_PROCESS=false). Several
 * projectors may run: each projection is processed by the holder of its lease, the others
 * stand by and take over when it stops or dies. The retention job runs here too, every
 * RETENTION_INTERVAL seconds, one runner at a time across projectors.
 */
async function main(): Promise<void> {
  tuneRuntime();
  const config = loadConfig();
  const say = (line: string) => console.log(`[projector] ${line}`);
  const database = await resolveDatabase(config, say);
  await runMigrations(database.migrationUrl);
  // The projector's DataSource owns its pool; the projections write their SQL by hand on it
  // (two connections per projection, two for the retention job, a few to spare).
  const sized = { max: ALL_PROJECTIONS.length * 2 + 6, connectTimeoutMs: 0, applicationName: 'conversation-projector' };
  const settings = { ...config, ...sized };
  const dataSource = await openRuntimeDataSource(database.url, settings, READ_MODEL_ENTITIES);
  const pool = poolOf(dataSource);
  await checkRuntimePrivileges(pool, { strict: config.strictDbPrivileges, warn: (m) => say(`warning: ${m}`) });
  const store = new PostgresEventStore(pool);

  const listener = new NotificationListener({
    connection: runtimeConnection(database.url, config, 'conversation-projector-listen'),
    channels: [APPEND_CHANNEL],
    warn: (m) => say(`warning: ${m}`),
  });
  await listener.start();
  const { changes } = listener;

  const runners = ALL_PROJECTIONS.map((p) => new ProjectionRunner(pool, store, p, { changes, log: say }));
  // The transparency log's sequencer, in larger batches, at most ten a second (never rebuilt).
  runners.push(
    new ProjectionRunner(pool, store, new SequencerProjection(), { ...sequencerRunnerOptions(changes), log: say }),
  );
  runners.forEach((r) => r.start());
  say(`running ${runners.map((r) => r.projection.name).join(', ')}`);
  // The retention job (per-tenant settings; one runner at a time across processes). It destroys
  // content keys and appends ContentErased: it needs no master key.
  const retention = new RetentionScheduler(pool, { intervalMs: config.retention.intervalMs, log: say });
  retention.start();

  const stop = async (signal: string) => {
    say(`${signal}: stopping`);
    await Promise.all([...runners.map((r) => r.stop()), retention.stop()]);
    await listener.stop();
    await store.close().catch(() => undefined);
    await dataSource.destroy();
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
