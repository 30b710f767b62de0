import type { Pool } from 'pg';
import { runRetention, type RetentionRunOptions, type RetentionRunResult } from './retention-run';

export interface RetentionSchedulerOptions {
  /** RETENTION_INTERVAL, in milliseconds. */
  intervalMs: number;
  /** Before the first run (default: a few seconds, so the process's start is not slowed). */
  firstDelayMs?: number;
  log?: (line: string) => void;
  run?: Pick<RetentionRunOptions, 'batchSize'>;
}

/**
 * The retention job in a long-running process (the projector): a run at start and then every
 * interval. Several processes may each run one: the lease lets one run at a time, and a tenant
 * whose run any process started less than 90 % of the interval ago is left out of the others' ticks.
 * A failed run is logged and retried at the next tick (it resumes where it stopped).
 */
export class RetentionScheduler {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly options: RetentionSchedulerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops between two conversations (the rest is left for the next run) and waits for the loop. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /** One tick now (what the loop does each interval). */
  tick(): Promise<RetentionRunResult> {
    return runRetention(this.pool, {
      ...this.options.run,
      minGapMs: Math.floor(this.options.intervalMs * 0.9),
      shouldStop: () => this.stopped,
    });
  }

  private async run(): Promise<void> {
    const log = this.options.log ?? (() => undefined);
    await this.sleep(this.options.firstDelayMs ?? 5_000);
    while (!this.stopped) {
      try {
        const result = await this.tick();
        if (result.state === 'ran') {
          for (const t of result.tenants) {
            log(
              `retention ${t.tenantId} (${t.days} days): erased ${t.erased}, skipped (legal hold) ${t.skippedHeld}` +
                (t.plaintextFields > 0 ? `, ${t.plaintextFields} fields stored before encryption kept` : ''),
            );
          }
        }
      } catch (err) {
        log(`retention: ${(err as Error).message}; the next run resumes`);
      }
      await this.sleep(this.options.intervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref(); // the schedule never keeps a process alive on its own
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
