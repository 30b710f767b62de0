import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { READ_MODEL_ENTITIES } from '@app/projections';
import { type AppConfig, poolOf, runtimeDataSourceOptions } from '@app/platform';
import { APP_CONFIG, AUDIT_POOL, PG_POOL } from './database.providers';

export interface ReplicaHealth {
  status: 'up' | 'down';
  /** false: READ_DATABASE_URL names a server that is not in recovery (not a standby). */
  standby?: boolean;
  lagBytes?: number;
  lagSeconds?: number;
}

/** Where a read may go. */
export interface AuditReads {
  /** The light audit reads (lists, counts, the access log), and TypeORM's for the blocked ends. */
  pool: Pool;
  db: DataSource;
}

/** After a failed connect, the next attempt waits this long: callers meanwhile get the same failure at once. */
export const RECONNECT_AFTER_MS = 1000;

/**
 * A DataSource connected at its first use, never at start; after a failed attempt, again at a use
 * at least RECONNECT_AFTER_MS later (so an unauthenticated /health polled in a loop, or a burst of
 * audit reads, costs a down replica one connection attempt a second, not one each).
 */
export class LazyDataSource {
  private connecting: Promise<DataSource> | null = null;
  private failed: { at: number; error: unknown } | null = null;

  constructor(readonly dataSource: DataSource) {}

  ready(): Promise<DataSource> {
    if (this.dataSource.isInitialized) return Promise.resolve(this.dataSource);
    if (this.failed && Date.now() - this.failed.at < RECONNECT_AFTER_MS) return Promise.reject(this.failed.error);
    this.connecting ??= this.dataSource
      .initialize()
      .then(
        (db) => {
          this.failed = null;
          return db;
        },
        (error: unknown) => {
          this.failed = { at: Date.now(), error };
          throw error;
        },
      )
      .finally(() => (this.connecting = null));
    return this.connecting;
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * Where the audit reads go. Without READ_DATABASE_URL: the primary, the light ones on the default
 * pool, the heavy ones (export, bundle, timeline, compliance, sample) on the capped audit pool.
 * With it: the streaming replica, on two DataSources of its own of the same sizes (DB_POOL_SIZE,
 * AUDIT_POOL_SIZE) and the same runtime login (roles are replicated). They connect at the first
 * read, not at start: a replica that is down stops the audit reads (503 DATABASE_UNAVAILABLE),
 * never the service. Nothing here writes: the replica would refuse it (and access entries,
 * reviews and every other write take the primary's pools).
 */
@Injectable()
export class ReadDatabase implements OnApplicationShutdown {
  private readonly logger = new Logger(ReadDatabase.name);
  private readonly light: LazyDataSource | null = null;
  private readonly heavy: LazyDataSource | null = null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(PG_POOL) private readonly primaryPool: Pool,
    @InjectDataSource() private readonly primary: DataSource,
    @Optional() @Inject(AUDIT_POOL) private readonly primaryAuditPool: Pool | null,
  ) {
    const url = config.readDatabaseUrl;
    if (!url) return;
    const replica = (max: number, applicationName: string) =>
      new LazyDataSource(
        new DataSource(
          runtimeDataSourceOptions(
            url,
            { ...config, max, connectTimeoutMs: config.limits.dbConnectTimeoutMs, applicationName },
            READ_MODEL_ENTITIES,
          ),
        ),
      );
    this.light = replica(config.dbPoolSize, REPLICA_APPLICATION_NAME);
    this.heavy = replica(config.limits.auditPoolSize, REPLICA_AUDIT_APPLICATION_NAME);
  }

  /** READ_DATABASE_URL is set: the audit reads go to the replica. */
  get hasReplica(): boolean {
    return this.light !== null;
  }

  /** The replica's DataSource of the light reads (not connected yet, maybe), for prepared queries. */
  get replicaDataSource(): DataSource | null {
    return this.light?.dataSource ?? null;
  }

  /** The light reads' pool and DataSource: the replica's (connected now if need be), else the primary's. */
  async reads(): Promise<AuditReads> {
    if (!this.light) return { pool: this.primaryPool, db: this.primary };
    const db = await this.light.ready();
    return { pool: poolOf(db), db };
  }

  /** The heavy reads' capped pool: the replica's, else the primary's audit pool. */
  async heavyPool(): Promise<Pool> {
    if (!this.heavy) return this.primaryAuditPool!;
    return poolOf(await this.heavy.ready());
  }

  /** The replica's light pool, connected (throws when it cannot be reached); null without a replica. */
  async replicaPool(): Promise<Pool | null> {
    return this.light ? poolOf(await this.light.ready()) : null;
  }

  /**
   * For /health: is the replica reachable, and how far behind the primary is it: WAL bytes not
   * replayed, and seconds of the log it lacks (the primary's newest event's recorded_at less the
   * replica's: what an audit read without ?waitFor= misses). Unknown while the primary does not answer.
   */
  async replicaHealth(): Promise<ReplicaHealth | null> {
    if (!this.light) return null;
    let replica: { standby: boolean; lsn: string | null; head: string | null };
    try {
      const db = await this.light.ready();
      [replica] = await db.query(
        `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn,
                (${NEWEST_EVENT_TIME})::text AS head`,
      );
    } catch (err) {
      // The server's words go to the log only: /health answers anyone.
      this.logger.error(`replica check failed: ${(err as Error).message}`);
      return { status: 'down' };
    }
    if (!replica.standby || replica.lsn === null) return { status: 'up', standby: false };
    const lag = await this.primaryPool
      .query<{ bytes: string; seconds: number | null }>(
        `SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::text AS bytes,
                greatest(extract(epoch FROM (${NEWEST_EVENT_TIME}) - $2::timestamptz), 0)::float8 AS seconds`,
        [replica.lsn, replica.head],
      )
      .then(({ rows }) => rows[0])
      .catch(() => undefined);
    return {
      status: 'up',
      standby: true,
      lagBytes: lag && Number(lag.bytes),
      lagSeconds: lag?.seconds ?? undefined,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.light?.close(), this.heavy?.close()]);
  }
}

/** The recorded_at of the log's newest event (one row of the commit-order index). */
const NEWEST_EVENT_TIME = 'SELECT recorded_at FROM es_events ORDER BY transaction_id DESC, position DESC LIMIT 1';

/** In the replica's pg_stat_activity. */
export const REPLICA_APPLICATION_NAME = 'conversation-service (replica)';
export const REPLICA_AUDIT_APPLICATION_NAME = 'conversation-service (replica audit)';
