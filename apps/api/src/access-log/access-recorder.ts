import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { AccessEntry, AccessLogWriter } from '@app/access';
import { PostgresEventStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import { ApiError } from '../common/api-error';
import { APP_CONFIG } from '../database/database.providers';
import { MetricsService } from '../metrics/metrics.service';
import { AccessRequest, AccessTarget, accessEntries } from './access-targets';

/** Retry-After of ACCESS_LOG_UNAVAILABLE: a flush runs at least every second. */
const RETRY_AFTER_SECONDS = 1;

export const accessLogUnavailable = (): ApiError =>
  ApiError.unavailable(
    'ACCESS_LOG_UNAVAILABLE',
    'reads of content are recorded, and the access log cannot take more entries now; try again',
    RETRY_AFTER_SECONDS,
  );

/**
 * The API's access log: every read of content or audit detail leaves entries in the buffer
 * (AccessLogWriter) before it is answered, and fails closed (503 ACCESS_LOG_UNAVAILABLE) when
 * the buffer is full. Flushed every ACCESS_LOG_FLUSH_MS and before the application shuts down.
 * An entry the store refuses for good is quarantined (an error log, a metric), not held.
 */
@Injectable()
export class AccessRecorder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AccessLog');
  readonly writer: AccessLogWriter;

  constructor(store: PostgresEventStore, @Inject(APP_CONFIG) config: AppConfig, metrics: MetricsService) {
    const { buffer, flushMs, shards } = config.accessLog;
    const quarantined = new Counter({
      name: 'access_log_entries_quarantined_total',
      help: 'Access entries the store refused for good (logged as errors, never stored)',
      registers: [metrics.registry],
    });
    this.writer = new AccessLogWriter(store, {
      capacity: buffer,
      flushIntervalMs: flushMs,
      shards,
      onQuarantine: () => quarantined.inc(),
      log: { error: (m) => this.logger.error(m), warn: (m) => this.logger.warn(m) },
    });
    const writer = this.writer;
    new Gauge({
      name: 'access_log_entries_held',
      help: 'Access entries not yet stored (ACCESS_LOG_BUFFER at most)',
      registers: [metrics.registry],
      collect() {
        this.set(writer.held);
      },
    });
  }

  onApplicationBootstrap(): void {
    this.writer.start();
  }

  /** Before the pools close (TypeOrmModule closes them in its shutdown hook). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.writer.close();
  }

  /** 503 unless an entry fits now (checked before a read starts, so it does no work in vain). */
  assertRoom(count = 1): void {
    if (!this.writer.hasRoom(count)) throw accessLogUnavailable();
  }

  /** Records a read before it is answered; 503 when its entries do not fit. */
  record(request: AccessRequest, targets: AccessTarget[]): AccessEntry[] {
    const entries = accessEntries(request, targets);
    if (!this.writer.offer(entries)) throw accessLogUnavailable();
    return entries;
  }

  /** Whether a batch of a stream under way could be recorded (false: end the stream unsent). */
  tryRecord(request: AccessRequest, targets: AccessTarget[]): boolean {
    return this.writer.offer(accessEntries(request, targets));
  }
}
