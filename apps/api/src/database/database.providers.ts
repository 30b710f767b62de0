import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { runtimeConnection, RuntimeTimeouts } from '@app/platform';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const DATABASE_URL = Symbol('DATABASE_URL');

export interface StoreMetrics {
  appended(n: number): void;
  conflicted(): void;
}

/** The runtime pool; the store's batch connection takes its settings (timeouts included). */
export function createPool(url: string, max: number, timeouts: RuntimeTimeouts): Pool {
  const pool = new Pool({ ...runtimeConnection(url, timeouts, 'conversation-service'), max });
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
