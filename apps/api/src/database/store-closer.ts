import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PostgresEventStore } from '@app/event-store';

/**
 * Closes the store's batch connection (its own, beside the pool) when the application stops.
 * The pools are the DataSources': TypeOrmModule destroys each once, after this.
 */
@Injectable()
export class StoreCloser implements OnApplicationShutdown {
  constructor(private readonly store: PostgresEventStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close().catch(() => undefined);
  }
}
