import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy } from '@nestjs/common';

/** Above this share of its time busy, the process is serving requests at about its limit. */
export const BUSY_UTILIZATION = 0.5;
/**
 * More requests than this in flight (the bulk read's own is one): others are waiting on the
 * process. Counted when the bulk read asks, not over a window: a light trickle (a request of a
 * few ms now and then) is seldom two deep and does not slow the bulk read down; a full load is.
 */
export const BUSY_IN_FLIGHT = 2;
/** Busy: a bulk read waits this many times as long as its last step took (it gets 1/(1+n) of the time). */
export const BUSY_WAIT_FACTOR = 3;
/** The longest wait between two steps, so that an export under load still moves on. */
export const MAX_WAIT_MS = 250;
/** How often the event loop's utilization is measured again. */
const MEASURE_EVERY_MS = 100;

/** Node's HTTP server publishes every request it starts here (Fastify serves through it). */
export const REQUEST_START_CHANNEL = 'http.server.request.start';

/**
 * Lets bulk reads (the audit export) give way to the requests people wait on. Between two steps
 * a bulk read calls `pause` with the time its step took. While other requests wait on the process
 * (more than BUSY_IN_FLIGHT in flight, its own included) and its event loop is busy (utilization
 * above BUSY_UTILIZATION over the last tenth of a second: the process, or the machine under it,
 * is at its limit), it waits BUSY_WAIT_FACTOR times as long as the step took, so that it takes
 * about a quarter of the time at most. Otherwise, alone or beside light traffic, it only yields a
 * turn of the event loop (requests that came in meanwhile go first) and runs at full speed: its
 * own work alone, which keeps the loop busy too, does not slow it down.
 */
@Injectable()
export class BulkReadPacer implements OnModuleDestroy {
  private mark: EventLoopUtilization | null = null;
  private markedAt = 0;
  private utilization = 0;
  /** The responses not yet closed (finished or cut off: 'close' comes either way). */
  private readonly inFlight = new Set<object>();
  private readonly onRequest = (message: unknown) => {
    const response = (message as { response?: { once(event: 'close', listener: () => void): unknown } }).response;
    if (!response) return;
    this.inFlight.add(response);
    response.once('close', () => this.inFlight.delete(response));
  };

  constructor() {
    subscribe(REQUEST_START_CHANNEL, this.onRequest);
  }

  onModuleDestroy(): void {
    unsubscribe(REQUEST_START_CHANNEL, this.onRequest);
  }

  /** The event loop's utilization so far (replaced in tests). */
  protected measure(): EventLoopUtilization {
    return performance.eventLoopUtilization();
  }

  /** Requests in flight now (for tests and logs). */
  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  /** Whether others wait on the process while it runs at about its limit (over about the last MEASURE_EVERY_MS). */
  busy(): boolean {
    const now = performance.now();
    if (!this.mark || now - this.markedAt >= MEASURE_EVERY_MS) {
      const next = this.measure();
      if (this.mark) this.utilization = performance.eventLoopUtilization(next, this.mark).utilization;
      this.mark = next;
      this.markedAt = now;
    }
    return this.utilization > BUSY_UTILIZATION && this.inFlight.size > BUSY_IN_FLIGHT;
  }

  /** How long a bulk read waits after a step of `stepMs` (0: one turn of the event loop only). */
  waitMs(stepMs: number): number {
    return this.busy() ? Math.min(MAX_WAIT_MS, Math.ceil(stepMs * BUSY_WAIT_FACTOR)) : 0;
  }

  pause = async (stepMs: number): Promise<void> => {
    const ms = this.waitMs(stepMs);
    await new Promise<void>((done) => (ms > 0 ? setTimeout(done, ms) : setImmediate(done)));
  };
}
