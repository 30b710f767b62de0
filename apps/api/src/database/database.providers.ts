import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const DATABASE_URL = Symbol('DATABASE_URL');

export interface StoreMetrics {
  appended(n: number): void;
  conflicted(): void;
}

export function createPool(url: string, max: number): Pool {
  const pool = new Pool({ connectionString: url, max, application_name: 'conversation-service' });
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
