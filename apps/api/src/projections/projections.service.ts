import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Pool } from 'pg';
import { Gauge } from 'prom-client';
import { PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, ProjectionRunner, projectionLags } from '@app/projections';
import { RetentionScheduler } from '@app/retention';
import { SEQUENCER_NAME, SequencerProjection, sequencerRunnerOptions } from '@app/transparency';
import type { AppConfig } from '@app/platform';
import { ChangeNotifier } from '../database/change-notifier';
import { APP_CONFIG, PG_POOL } from '../database/database.providers';
import { MetricsService } from '../metrics/metrics.service';

/**
 * Runs every projection in this process unless PROJECTIONS_IN_PROCESS=false (then
 * `apps/projector` runs them). Lag gauges are read from the checkpoints either way. The retention
 * job runs where the projections do (every RETENTION_INTERVAL; one runner at a time across
 * processes), so the default single process applies retention too.
 */
@Injectable()
export class ProjectionsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Projections');
  private readonly runners: ProjectionRunner[] = [];
  private retention: RetentionScheduler | undefined;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: PostgresEventStore,
    private readonly notifier: ChangeNotifier,
    metrics: MetricsService,
  ) {
    const names = [...ALL_PROJECTIONS.map((p) => p.name), SEQUENCER_NAME];
    const lag = (field: 'lagEvents' | 'lagSeconds') =>
      async function collect(this: Gauge) {
        for (const l of await projectionLags(pool, names)) this.set({ projection: l.name }, l[field]);
      };
    new Gauge({
      name: 'projection_lag_events',
      help: 'Committed events a projection has not processed',
      labelNames: ['projection'],
      // Every worker reads the same checkpoints: not a sum.
      aggregator: 'max',
      registers: [metrics.registry],
      collect: lag('lagEvents'),
    });
    new Gauge({
      name: 'projection_lag_seconds',
      help: 'Age of the oldest event a projection has not processed',
      labelNames: ['projection'],
      // Every worker reads the same checkpoints: not a sum.
      aggregator: 'max',
      registers: [metrics.registry],
      collect: lag('lagSeconds'),
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.projectionsInProcess) return;
    const log = (m: string) => this.logger.log(m);
    for (const projection of ALL_PROJECTIONS) {
      const runner = new ProjectionRunner(this.pool, this.store, projection, {
        changes: this.notifier.changes,
        log,
      });
      runner.start();
      this.runners.push(runner);
    }
    // The transparency log's sequencer runs like a projection (and is never rebuilt).
    const sequencer = new ProjectionRunner(this.pool, this.store, new SequencerProjection(), {
      ...sequencerRunnerOptions(this.notifier.changes),
      log,
    });
    sequencer.start();
    this.runners.push(sequencer);
    this.retention = new RetentionScheduler(this.pool, { intervalMs: this.config.retention.intervalMs, log });
    this.retention.start();
  }

  /** Before the shutdown hooks: TypeOrmModule closes the pools in its own, ahead of this module's. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.runners.map((r) => r.stop()), this.retention?.stop()]);
  }
}
