import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { StoreMetrics } from '../database/database.providers';
import { clusterScrape } from './cluster-metrics';

/**
 * Prometheus metrics of this process (of every worker when WORKERS > 1: `scrape`). Projection
 * lag gauges are registered by the projections.
 */
@Injectable()
export class MetricsService implements StoreMetrics {
  readonly registry = new Registry();
  readonly scrape = clusterScrape(this.registry);

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route template',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly appends = new Counter({
    name: 'event_store_appended_events_total',
    help: 'Events appended to the store by this process',
    registers: [this.registry],
  });

  private readonly conflicts = new Counter({
    name: 'event_store_version_conflicts_total',
    help: 'Appends refused because the stream was not at the expected version',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  appended(n: number): void {
    this.appends.inc(n);
  }

  conflicted(): void {
    this.conflicts.inc();
  }
}
