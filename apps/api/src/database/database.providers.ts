import type { DynamicModule, Provider } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { Pool, type PoolConfig } from 'pg';
import type { DataSource } from 'typeorm';
import { PostgresEventStore } from '@app/event-store';
import { READ_MODEL_ENTITIES } from '@app/projections';
import { type AppConfig, poolOf, runtimeDataSourceOptions } from '@app/platform';
import { ApiKeyEntity } from '@app/access';

export const APP_CONFIG = Symbol('APP_CONFIG');
/** The pg pool of the default DataSource (commands and reads), for the SQL written by hand. */
export const PG_POOL = Symbol('PG_POOL');
export const DATABASE_URL = Symbol('DATABASE_URL');
/**
 * The pg pool of the audit DataSource: the heavy audit reads (export, timeline, compliance,
 * sample) on the primary. Absent with READ_DATABASE_URL: they go to the replica (ReadDatabase).
 */
export const AUDIT_POOL = Symbol('AUDIT_POOL');
/** The small capped DataSource of the heavy audit reads (AUDIT_POOL_SIZE connections); none with a replica. */
export const AUDIT_DATA_SOURCE = 'audit';

/** Every entity of the service's tables. */
export const ENTITIES = [...READ_MODEL_ENTITIES, ApiKeyEntity];

export interface StoreMetrics {
  appended(n: number): void;
  conflicted(): void;
}

// A database that does not answer fails the start at once (the default retries for 30 s).
const FAIL_AT_ONCE = { retryAttempts: 1, toRetry: () => false } satisfies Partial<TypeOrmModuleOptions>;

/**
 * The two DataSources, each owning its pool of runtime connections (the login, timeouts, TLS of
 * `url`); with a replica (READ_DATABASE_URL) the default one alone, the audit reads having theirs
 * on the replica (ReadDatabase). `connectTimeoutMs` bounds the wait for a connection (a new one,
 * or a free one of a full pool), so a dead or saturated database is answered 503 instead of
 * hanging the request.
 * TypeOrmModule destroys each DataSource, closing its pool, once, when the application stops.
 */
export function dataSourceModules(url: string, config: AppConfig, connect = true): DynamicModule[] {
  const settings = (max: number, applicationName: string) => ({
    ...config,
    max,
    connectTimeoutMs: config.limits.dbConnectTimeoutMs,
    applicationName,
  });
  // `connect` false: an app built only to write its OpenAPI document, with no database at all.
  const start = { ...FAIL_AT_ONCE, manualInitialization: !connect };
  const primary = TypeOrmModule.forRootAsync({
    useFactory: () => ({
      ...runtimeDataSourceOptions(url, settings(config.dbPoolSize, 'conversation-service'), ENTITIES),
      ...start,
    }),
  });
  if (config.readDatabaseUrl) return [primary];
  return [
    primary,
    TypeOrmModule.forRootAsync({
      name: AUDIT_DATA_SOURCE,
      useFactory: () => ({
        ...runtimeDataSourceOptions(
          url,
          settings(config.limits.auditPoolSize, 'conversation-service (audit)'),
          READ_MODEL_ENTITIES,
        ),
        ...start,
      }),
    }),
  ];
}

/**
 * The pool a DataSource owns. A DataSource never initialised (the OpenAPI document's app) has
 * none: a pool with its settings stands in, lazy, never connected, since nothing queries there.
 */
const poolFor = (ds: DataSource): Pool =>
  ds.isInitialized ? poolOf(ds) : new Pool((ds.options as { extra: PoolConfig }).extra);

/** PG_POOL and AUDIT_POOL (none with a replica): the very pools the DataSources own, not second ones. */
export function poolProviders(config: AppConfig): Provider[] {
  const primary: Provider = { provide: PG_POOL, inject: [getDataSourceToken()], useFactory: poolFor };
  if (config.readDatabaseUrl) return [primary];
  return [primary, { provide: AUDIT_POOL, inject: [getDataSourceToken(AUDIT_DATA_SOURCE)], useFactory: poolFor }];
}

export function createEventStore(pool: Pool, metrics: StoreMetrics): PostgresEventStore {
  return new PostgresEventStore(pool, {
    appended: (_stream, n) => metrics.appended(n),
    conflicted: () => metrics.conflicted(),
  });
}
