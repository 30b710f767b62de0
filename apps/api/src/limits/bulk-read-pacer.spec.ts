import { channel } from 'node:diagnostics_channel';
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

/** The pacer after a tenth of a second in which `requests` requests started. */
const measured = async (pacer: BulkReadPacer, requests: number) => {
  // The first measure is taken at the first question; the next one a tenth of a second later.
  expect(pacer.busy()).toBe(false);
  for (let i = 0; i < requests; i++) channel(REQUEST_START_CHANNEL).publish({});
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
  afterAll(() => pacers.forEach((p) => p.onModuleDestroy()));

  it('only yields a turn of the event loop while the process is idle enough', async () => {
    const pacer = await measured(make(0.2), 50);
    expect(pacer.waitMs(40)).toBe(0);
  });

  it('runs at full speed while it is the only request, however busy its own work makes the loop', async () => {
    const pacer = await measured(make(0.9), 1);
    expect(pacer.waitMs(40)).toBe(0);
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
