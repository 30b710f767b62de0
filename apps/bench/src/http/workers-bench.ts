import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messageLoad } from './message-load';
import { DIST_APPS } from './node-process';
import { RunningService, startService } from './service';
import { median } from '../stats';

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

const round2 = (n: number) => Math.round(n * 100) / 100;

/** `apps/projector` in its own process (output in a file), once it runs every projection. */
async function startProjector(databaseUrl: string): Promise<{ stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-bench-projector-'));
  const logFile = join(dir, 'output.log');
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [join(DIST_APPS, 'projector/src/main.js')], {
    env: { ...process.env, DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: '' },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exit = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 60_000; !/\[projector\] running/.test(readFileSync(logFile, 'utf8'));) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const output = readFileSync(logFile, 'utf8');
      await stop();
      throw new Error(`the projector did not start:\n${output}`);
    }
    await sleep(250);
  }
  return { stop };
}

/**
 * The `http` figure's load (autocannon, 64 connections, one conversation each, 300-byte
 * messages) against the service started with WORKERS=1 and with WORKERS=2 (`node
 * dist/apps/api/src/main.js`, request logs on), both running on the same database at once: a
 * warm-up of each, then rounds in alternating order, each followed by the projections catching
 * up; each figure is the median of its rounds. The projections run apart, in one `apps/projector`
 * (PROJECTIONS_IN_PROCESS=false on both): in process they would run in whichever service holds
 * their leases, for the other's messages too, and the two legs would not pay alike.
 */
export async function runWorkersBenchmark(
  databaseUrl: string,
  plan: WorkersPlan,
  progress: (line: string) => void,
): Promise<WorkersResult> {
  const start = (workers: number) =>
    startService(databaseUrl, progress, {
      name: `api-workers-${workers}`,
      env: { WORKERS: String(workers), PROJECTIONS_IN_PROCESS: 'false' },
      readyOutput: workers > 1 ? new RegExp(`\\(OpenAPI at /docs; ${workers} workers\\)`) : undefined,
    });
  const services: RunningService[] = [];
  const projector = await startProjector(databaseUrl);
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
          `workers round ${round + 1}/${plan.rounds}: WORKERS=${i + 1} ${Math.round(r.rate)} messages/s, ` +
            `p99 ${r.p99Ms} ms`,
        );
      }
    }
    const [one, two] = samples.map((s) => Math.round(median(s.map((r) => r.rate))));
    const [oneP99Ms, twoP99Ms] = samples.map((s) => round2(median(s.map((r) => r.p99Ms))));
    return { one, two, oneP99Ms, twoP99Ms, ratio: round2(two / one) };
  } finally {
    for (const s of services) await s.stop();
    await projector.stop();
  }
}

export function workersTable(r: WorkersResult): string {
  return [
    'POST /v1/conversations/:id/messages, 64 connections, one conversation each (autocannon), by API processes:',
    `  WORKERS=1 ${r.one} messages/s (p99 ${r.oneP99Ms} ms); WORKERS=2 ${r.two} messages/s (p99 ${r.twoP99Ms} ms);` +
      ` two/one ${r.ratio}`,
  ].join('\n');
}
