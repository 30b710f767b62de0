import type { EventLoopUtilization } from 'node:perf_hooks';
import { BulkReadPacer, MAX_WAIT_MS } from './bulk-read-pacer';

/** A pacer whose event loop was busy `busy` of each 100 ms, as measured. */
class PacerAt extends BulkReadPacer {
  private total = 0;
  private active = 0;
  constructor(private readonly busy: number) {
    super();
  }
  protected override measure(): EventLoopUtilization {
    this.total += 100;
    this.active += 100 * this.busy;
    return { idle: this.total - this.active, active: this.active, utilization: this.active / this.total };
  }
}

const measured = async (pacer: BulkReadPacer) => {
  // The first measure is taken at the first question; the next one a tenth of a second later.
  expect(pacer.busyShare()).toBe(0);
  await new Promise((done) => setTimeout(done, 120));
  return pacer;
};

describe('BulkReadPacer', () => {
  it('only yields a turn of the event loop while the process is idle enough', async () => {
    const pacer = await measured(new PacerAt(0.2));
    expect(pacer.waitMs(40)).toBe(0);
  });

  it('waits three times as long as the step took while the event loop is busy, at most MAX_WAIT_MS', async () => {
    const pacer = await measured(new PacerAt(0.9));
    expect(pacer.waitMs(10)).toBe(30);
    expect(pacer.waitMs(1000)).toBe(MAX_WAIT_MS);
  });

  it('pauses and resolves', async () => {
    const pacer = await measured(new PacerAt(0.9));
    const started = Date.now();
    await pacer.pause(10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
