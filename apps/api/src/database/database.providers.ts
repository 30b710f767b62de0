import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { runtimeConnection, RuntimeTimeouts } from '@app/platform';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const DATABASE_URL = Symbol('DATABASE_URL');
/** The small pool of the heavy audit reads (export, timeline, compliance, sample). */
export const AUDIT_POOL = Symbol('AUDIT_POOL');

export interface StoreMetrics {
  appended(n: number): void;
  conflicted(): void;
}

/**
 * The runtime pool (the store's batch connection takes its settings, timeouts included).
 * `connectTimeoutMs` bounds the wait for a connection (a new one, or a free one of a full pool),
 * so a dead or saturated database is answered 503 instead of hanging the request.
 */
export function createPool(url: string, max: number, settings: RuntimeTimeouts & { connectTimeoutMs: number }, name = 'conversation-service'): Pool {
  const pool = new Pool({ ...runtimeConnection(url, settings, name), max, connectionTimeoutMillis: settings.connectTimeoutMs });
  // An idle client dropped by the server must not take the process down.
  pool.on('error', () => undefined);
  return pool;
}

export function createEventStore(pool: Pool, metrics: StoreMetrics): PostgresEventStore {
  return new PostgresEventStore(pool, {
    appended: (_stream, n) => metrics.appended(n),
    conflicted: () => metrics.conflicted(),
  });
}
