import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { AUDIT_POOL, PG_POOL } from './database.providers';

/** Closes the store's batch connection, then the pools, when the application stops. */
@Injectable()
export class PoolCloser implements OnApplicationShutdown {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(AUDIT_POOL) private readonly auditPool: Pool,
    private readonly store: PostgresEventStore,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close().catch(() => undefined);
    await Promise.all([this.pool.end().catch(() => undefined), this.auditPool.end().catch(() => undefined)]);
  }
}
