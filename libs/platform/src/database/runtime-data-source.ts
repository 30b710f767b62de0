import type { Pool, PoolClient } from 'pg';
import { DataSource, type EntityManager, type EntitySchema } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { runtimeConnection, type RuntimeTimeouts } from './runtime-connection';

export interface RuntimePoolSettings extends RuntimeTimeouts {
  /** Connections of the pool at most. */
  max: number;
  /** Bounds the wait for a connection (a new one, or a free one of a full pool); 0: no bound. */
  connectTimeoutMs: number;
  /** Shown in pg_stat_activity; the store's batch connection adds " (batches)" to it. */
  applicationName: string;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Entity = Function | string | EntitySchema;

/**
 * A DataSource that owns one pool of runtime connections: the login of `url` (least-privileged
 * where the operator made it so), TLS as the URL says (sslmode), the runtime's timeouts in the
 * startup packet of every connection, a name in pg_stat_activity, a size and a connect timeout.
 * TypeORM carries the entities; hand-written SQL takes the same pool (poolOf), never a second
 * one. Migrations are not its business: runMigrations applies them with the owner's login.
 */
export function runtimeDataSourceOptions(
  url: string,
  settings: RuntimePoolSettings,
  entities: readonly Entity[],
): PostgresDataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [...entities],
    synchronize: false,
    migrationsRun: false,
    // No CREATE EXTENSION at start: the runtime may not, and the schema needs none.
    installExtensions: false,
    logging: false,
    // pg's own options win over TypeORM's (extra is applied last): the runtime connection as is.
    extra: {
      ...runtimeConnection(url, settings, settings.applicationName),
      max: settings.max,
      connectionTimeoutMillis: settings.connectTimeoutMs,
    },
    // An idle client dropped by the server must not take the process down, nor fill the log.
    poolErrorHandler: () => undefined,
  };
}

/** Opens a runtime DataSource (the CLI's, the tests'); the caller destroys it. */
export async function openRuntimeDataSource(
  url: string,
  settings: RuntimePoolSettings,
  entities: readonly Entity[],
): Promise<DataSource> {
  return new DataSource(runtimeDataSourceOptions(url, settings, entities)).initialize();
}

/**
 * The pg pool a postgres DataSource owns (its driver's master pool): the event store, the
 * projections and the audit aggregates write their SQL by hand on it, over the same
 * connections as the repositories.
 */
export function poolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (!pool) throw new Error('the DataSource has no pool: it is not initialized, or not postgres');
  return pool;
}

/**
 * The pg connection of a transaction's EntityManager, for hand-written SQL that must commit
 * with it (an API key's row and its event). A connected query runner hands back its connection.
 */
export async function connectionOf(manager: EntityManager): Promise<PoolClient> {
  const runner = manager.queryRunner;
  if (!runner?.isTransactionActive) throw new Error('connectionOf takes the EntityManager of an open transaction');
  return (await runner.connect()) as PoolClient;
}
