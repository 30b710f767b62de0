import { messageLoad } from './message-load';
import { RunningService, startService } from './service';

export interface WorkersPlan {
  connections: number;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
}

/** Messages per second through the service at WORKERS=1 and WORKERS=2, p99 of each, two/one. */
export interface WorkersResult {
  one: number;
  two: number;
  oneP99Ms: number;
  twoP99Ms: number;
  ratio: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The `http` figure's load (autocannon, 64 connections, one conversation each, 300-byte
 * messages) against the service started with WORKERS=1 and with WORKERS=2 (`node
 * dist/apps/api/src/main.js`, projections in process, as `npm start` runs it), both running on
 * the same database at once: a warm-up of each, then rounds in alternating order, each followed
 * by the projections catching up; each figure is the median of its rounds. The projections run
 * in whichever process holds their leases, for either service's messages.
 */
export async function runWorkersBenchmark(
  databaseUrl: string,
  plan: WorkersPlan,
  progress: (line: string) => void,
): Promise<WorkersResult> {
  const start = (workers: number) =>
    startService(databaseUrl, progress, {
      name: `api-workers-${workers}`,
      env: { WORKERS: String(workers) },
      readyOutput: workers > 1 ? new RegExp(`\\(OpenAPI at /docs; ${workers} workers\\)`) : undefined,
    });
  const services: RunningService[] = [];
  try {
    services.push(await start(1));
    services.push(await start(2));
    await services[0].caughtUp();
    const run = async (s: RunningService, seconds: number) => {
      const r = await messageLoad(s.target, plan.connections, seconds);
      await s.caughtUp();
      if (r.failed > 0) progress(`warning: ${r.failed} requests failed (answers ${JSON.stringify(r.statuses)})`);
      return r;
    };
    for (const s of services) await run(s, plan.warmupSeconds);
    const samples = services.map(() => [] as { rate: number; p99Ms: number }[]);
    for (let round = 0; round < plan.rounds; round++) {
      for (const i of round % 2 ? [1, 0] : [0, 1]) {
        const r = await run(services[i], plan.seconds);
        samples[i].push(r);
        progress(
          `workers round ${round + 1}/${plan.rounds}: WORKERS=${i + 1} ${Math.round(r.rate)} messages/s, p99 ${r.p99Ms} ms`,
        );
      }
    }
    const [one, two] = samples.map((s) => Math.round(median(s.map((r) => r.rate))));
    const [oneP99Ms, twoP99Ms] = samples.map((s) => round2(median(s.map((r) => r.p99Ms))));
    return { one, two, oneP99Ms, twoP99Ms, ratio: round2(two / one) };
  } finally {
    for (const s of services) await s.stop();
  }
}

export function workersTable(r: WorkersResult): string {
  return [
    'POST /v1/conversations/:id/messages, 64 connections, one conversation each (autocannon), by API processes:',
    `  WORKERS=1 ${r.one} messages/s (p99 ${r.oneP99Ms} ms); WORKERS=2 ${r.two} messages/s (p99 ${r.twoP99Ms} ms);` +
      ` two/one ${r.ratio}`,
  ].join('\n');
}
