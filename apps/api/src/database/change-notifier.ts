import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APPEND_CHANNEL } from '@app/event-store';
import { type AppConfig, type ChangeSignal, NotificationListener, runtimeConnection } from '@app/platform';
import { APP_CONFIG, DATABASE_URL } from './database.providers';

/**
 * One LISTEN connection on es_events for the whole process; readers (SSE streams, projections)
 * wait on `next()` and fall back to polling, so a dropped connection only slows them down.
 */
@Injectable()
export class ChangeNotifier implements OnModuleInit, OnApplicationShutdown {
  private readonly listener: NotificationListener;

  constructor(@Inject(DATABASE_URL) url: string, @Inject(APP_CONFIG) config: AppConfig) {
    const logger = new Logger(ChangeNotifier.name);
    this.listener = new NotificationListener({
      // The runtime's timeouts too: they never touch an idle LISTEN session.
      connection: runtimeConnection(url, config, 'conversation-service-listen'),
      channels: [APPEND_CHANNEL],
      warn: (m) => logger.warn(m),
    });
  }

  onModuleInit(): Promise<void> {
    return this.listener.start();
  }

  /** Resolves at the next committed append anywhere, or after `timeoutMs`. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.listener.next(timeoutMs, signal);
  }

  /** What the projection runners wait on: a mark before each read, the wait after it. */
  get changes(): ChangeSignal {
    return this.listener.changes;
  }

  onApplicationShutdown(): Promise<void> {
    return this.listener.stop();
  }
}
