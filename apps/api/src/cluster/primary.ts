import cluster, { Worker } from 'node:cluster';
import type { ResolvedDatabase } from '@app/platform';
import { serveClusterMetrics } from '../metrics/cluster-metrics';

/** How long stopping workers may take (closing requests, flushing access entries) before SIGKILL. */
const STOP_TIMEOUT_MS = 30_000;
/** A replacement that dies sooner than this after its start waits longer before the next one. */
const STEADY_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * WORKERS > 1: forks that many API processes sharing one port (node:cluster; the primary
 * accepts connections and hands them round-robin to the workers). The primary serves nothing
 * itself: the database is resolved and migrated before it forks, and released after every
 * worker has stopped. A worker that dies is logged and replaced (with a growing delay while
 * replacements keep dying at start); a worker that dies before the first start completed fails
 * the start. SIGTERM or SIGINT stops the workers gracefully (SIGTERM each: they close and
 * flush), then the database, then the primary.
 */
export function runPrimary(
  options: { count: number; env: Record<string, string>; scheme: 'http' | 'https'; host: string },
  database: ResolvedDatabase,
  say: (line: string) => void,
): Promise<void> {
  const { count, env } = options;
  serveClusterMetrics();
  let stopping = false;
  let started = false;
  let restartDelay = 0;
  const bornAt = new Map<number, number>();
  const listening = new Set<number>();

  const fork = () => {
    const worker = cluster.fork(env);
    bornAt.set(worker.id, Date.now());
    return worker;
  };

  const stop = async (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} workers`);
    await stopWorkers();
    await database.release().catch((err) => console.error(err));
    process.exit(code);
  };

  return new Promise((ok) => {
    cluster.on('listening', (worker: Worker, address) => {
      listening.add(worker.id);
      if (started) {
        say(`worker ${worker.process.pid} listening (replacement)`);
        return;
      }
      if (listening.size < count) return;
      started = true;
      say(`listening on ${options.scheme}://${options.host}:${address.port} (OpenAPI at /docs; ${count} workers)`);
      ok();
    });
    cluster.on('exit', (worker: Worker, code, signal) => {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      const born = bornAt.get(worker.id) ?? Date.now();
      bornAt.delete(worker.id);
      const wasListening = listening.delete(worker.id);
      if (stopping) return;
      if (!started) {
        // A worker that cannot start (port taken, bad POLICY_FILE...) says why on its stderr.
        say(`worker ${worker.process.pid} exited with ${how} before the service started`);
        void stop('start failed', 1);
        return;
      }
      restartDelay =
        Date.now() - born > STEADY_MS && wasListening ? 0 : Math.min(MAX_RESTART_DELAY_MS, restartDelay * 2 || 500);
      say(
        `worker ${worker.process.pid} exited with ${how}; starting another` +
          (restartDelay ? ` in ${restartDelay} ms` : ''),
      );
      setTimeout(() => stopping || fork(), restartDelay);
    });
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    for (let i = 0; i < count; i++) fork();
  });
}

/** SIGTERM to every worker (each closes and flushes), SIGKILL to any still running after the timeout. */
async function stopWorkers(): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((done) => {
          if (worker.isDead()) return done();
          const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
          worker.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          worker.process.kill('SIGTERM');
        }),
    ),
  );
}
