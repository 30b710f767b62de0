import { channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { BulkReadPacer, MAX_WAIT_MS, REQUEST_START_CHANNEL } from './bulk-read-pacer';

/** A pacer whose event loop was busy `busy` of each 100 ms, as measured. */
class PacerAt extends BulkReadPacer {
  private total = 0;
  private active = 0;
  constructor(private readonly share: number) {
    super();
  }
  protected override measure(): EventLoopUtilization {
    this.total += 100;
    this.active += 100 * this.share;
    return { idle: this.total - this.active, active: this.active, utilization: this.active / this.total };
  }
}

/** Responses started through Node's channel, as the HTTP server publishes them; closed by the test. */
const open: EventEmitter[] = [];
const start = (requests: number) => {
  for (let i = 0; i < requests; i++) {
    const response = new EventEmitter();
    open.push(response);
    channel(REQUEST_START_CHANNEL).publish({ request: {}, response });
  }
};
const closeAll = () => open.splice(0).forEach((r) => r.emit('close'));

/** The pacer a tenth of a second after `requests` requests started and are still in flight. */
const measured = async (pacer: BulkReadPacer, requests: number) => {
  // The first measure is taken at the first question; the next one a tenth of a second later.
  expect(pacer.busy()).toBe(false);
  start(requests);
  await new Promise((done) => setTimeout(done, 120));
  return pacer;
};

describe('BulkReadPacer', () => {
  const pacers: BulkReadPacer[] = [];
  const make = (share: number) => {
    const pacer = new PacerAt(share);
    pacers.push(pacer);
    return pacer;
  };
  afterEach(closeAll);
  afterAll(() => pacers.forEach((p) => p.onModuleDestroy()));

  it('only yields a turn of the event loop while the process is idle enough', async () => {
    const pacer = await measured(make(0.2), 50);
    expect(pacer.waitMs(40)).toBe(0);
  });

  it('runs at full speed while it is the only request, however busy its own work makes the loop', async () => {
    const pacer = await measured(make(0.9), 1);
    expect(pacer.waitMs(40)).toBe(0);
  });

  it('runs at full speed beside a trickle: many requests started, but done by the time it asks', async () => {
    const pacer = await measured(make(0.9), 50);
    closeAll();
    start(1); // its own
    expect(pacer.requestsInFlight).toBe(1);
    expect(pacer.waitMs(40)).toBe(0);
  });

  it('counts a request cut off (closed without finishing) as gone', async () => {
    const pacer = await measured(make(0.9), 50);
    expect(pacer.requestsInFlight).toBe(50);
    closeAll();
    expect(pacer.requestsInFlight).toBe(0);
  });

  it('waits 3 times its step while other requests keep the loop busy (at most MAX_WAIT_MS)', async () => {
    const pacer = await measured(make(0.9), 50);
    expect(pacer.waitMs(10)).toBe(30);
    expect(pacer.waitMs(1000)).toBe(MAX_WAIT_MS);
  });

  it('pauses and resolves', async () => {
    const pacer = await measured(make(0.9), 50);
    const started = Date.now();
    await pacer.pause(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
