import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { Injectable } from '@nestjs/common';

/** Above this share of its time busy, the process is serving requests at about its limit. */
export const BUSY_UTILIZATION = 0.5;
/** Busy: a bulk read waits this many times as long as its last step took (it gets 1/(1+n) of the time). */
export const BUSY_WAIT_FACTOR = 3;
/** The longest wait between two steps, so that an export under load still moves on. */
export const MAX_WAIT_MS = 250;
/** How often the event loop's utilization is measured again. */
const MEASURE_EVERY_MS = 100;

/**
 * Lets bulk reads (the audit export) give way to the requests people wait on. Between two steps
 * a bulk read calls `pause` with the time its step took: while the process is idle enough it only
 * yields a turn of the event loop (requests that came in meanwhile go first); while the event
 * loop is busy (its utilization over the last tenth of a second above BUSY_UTILIZATION: the
 * process, or the machine under it, is at its limit) it waits BUSY_WAIT_FACTOR times as long as
 * the step took, so that it takes at most about a quarter of the time the requests need.
 */
@Injectable()
export class BulkReadPacer {
  private mark: EventLoopUtilization | null = null;
  private markedAt = 0;
  private utilization = 0;

  /** The event loop's utilization so far (replaced in tests). */
  protected measure(): EventLoopUtilization {
    return performance.eventLoopUtilization();
  }

  /** The event loop's utilization (0 to 1) over about the last MEASURE_EVERY_MS. */
  busyShare(): number {
    const now = performance.now();
    if (!this.mark || now - this.markedAt >= MEASURE_EVERY_MS) {
      const next = this.measure();
      if (this.mark) this.utilization = performance.eventLoopUtilization(next, this.mark).utilization;
      this.mark = next;
      this.markedAt = now;
    }
    return this.utilization;
  }

  /** How long a bulk read waits after a step of `stepMs` (0: one turn of the event loop only). */
  waitMs(stepMs: number): number {
    return this.busyShare() > BUSY_UTILIZATION ? Math.min(MAX_WAIT_MS, Math.ceil(stepMs * BUSY_WAIT_FACTOR)) : 0;
  }

  pause = async (stepMs: number): Promise<void> => {
    const ms = this.waitMs(stepMs);
    await new Promise<void>((done) => (ms > 0 ? setTimeout(done, ms) : setImmediate(done)));
  };
}
