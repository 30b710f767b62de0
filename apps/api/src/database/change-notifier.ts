import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import { type AppConfig, runtimeConnection } from '@app/platform';
import { APP_CONFIG, DATABASE_URL } from './database.providers';

/**
 * One LISTEN connection for the whole process; readers (SSE streams, projections) wait on
 * `next()` and fall back to polling, so a dropped connection only slows them down.
 */
@Injectable()
export class ChangeNotifier implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeNotifier.name);
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private client: Client | null = null;
  private closed = false;

  constructor(
    @Inject(DATABASE_URL) private readonly url: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    // The runtime's timeouts too: they never touch an idle LISTEN session.
    const client = new Client(runtimeConnection(this.url, this.config, 'conversation-service-listen'));
    client.on('notification', () => this.emitter.emit('change'));
    client.on('error', (err) => {
      this.logger.warn(`LISTEN connection lost (${err.message}); reconnecting`);
      this.client = null;
      this.reconnectSoon();
    });
    await client.connect();
    await client.query('LISTEN es_events');
    this.client = client;
  }

  /** Readers poll meanwhile; keep trying every second until LISTEN is back. */
  private reconnectSoon(): void {
    if (this.closed) return;
    setTimeout(() => void this.connect().catch(() => this.reconnectSoon()), 1000).unref();
  }

  /** Resolves at the next committed append anywhere, or after `timeoutMs`. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off('change', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.emitter.once('change', done);
      signal?.addEventListener('abort', done);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    this.emitter.emit('change');
    await this.client?.end().catch(() => undefined);
  }
}
