import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { HttpTarget, LoadResult, messageLoad } from './message-load';
import { DIST_APPS, machineCpuMs, NodeProcess, startNodeProcess } from './node-process';
import { RunningService } from './service';
import { median, medianOrNull, perUnit } from '../stats';

export interface HttpPlan {
  connections: number;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
}

/**
 * Messages per second through the service and through the bare route, p99 of each, service/bare;
 * and the CPU time each process spent per message (µs; the service's includes its projections
 * catching up), which other work on a shared machine disturbs far less than the rates.
 */
export interface HttpResult {
  service: number;
  bare: number;
  serviceP99Ms: number;
  bareP99Ms: number;
  ratio: number;
  serviceCpuUsPerMessage: number | null;
  bareCpuUsPerMessage: number | null;
  /**
   * The machine's busy CPU time per message over the same rounds (every process: the database,
   * the load generator, the target), µs: on a machine of two cores, which of the target's process
   * and the machine runs out first.
   */
  serviceMachineCpuUsPerMessage: number | null;
  bareMachineCpuUsPerMessage: number | null;
}

/** A round's answers, with the CPU time its process and the machine spent per message (null where unknown). */
interface Round extends LoadResult {
  cpuUsPerMessage: number | null;
  machineCpuUsPerMessage: number | null;
}

/** The service's pool size by default (DB_POOL_SIZE): the bare route gets as many connections. */
const POOL_SIZE = 20;

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The service against the bare route on the same database: a warm-up of each, then rounds
 * in alternating order; each figure is the median of its rounds. After a run of the service its
 * projections catch up before anything else is measured, so the bare route never pays for them.
 */
/** The bare route (a raw INSERT with a unique guard) in a process of its own, and its target. */
export async function startBareRoute(databaseUrl: string): Promise<{ process: NodeProcess; target: HttpTarget }> {
  const env = { BARE_DATABASE_URL: databaseUrl, BARE_POOL_SIZE: String(POOL_SIZE) };
  const bare = await startNodeProcess(
    'bare',
    join(DIST_APPS, 'bench/src/http/bare-server.js'),
    env,
    'BARE_PORT',
    '/health',
  );
  return {
    process: bare,
    target: {
      name: 'bare',
      url: bare.url,
      headers: {},
      conversations: async (n) => Array.from({ length: n }, () => randomUUID()),
    },
  };
}

export async function runHttpBenchmark(
  databaseUrl: string,
  service: RunningService,
  plan: HttpPlan,
  progress: (line: string) => void,
): Promise<HttpResult> {
  const { process: bareProcess, target: bare } = await startBareRoute(databaseUrl);
  const cpuMs = (target: HttpTarget) => (target.name === 'service' ? service.cpuMs() : bareProcess.cpuMs());
  const run = async (target: HttpTarget, seconds: number): Promise<Round> => {
    const before = cpuMs(target);
    const machineBefore = machineCpuMs();
    const result = await messageLoad(target, plan.connections, seconds);
    if (target.name === 'service') await service.caughtUp();
    const after = cpuMs(target);
    const machineAfter = machineCpuMs();
    const perMessage = (from: number | null, to: number | null) => {
      const ms = perUnit(from, to, result.answered);
      return ms === null ? null : Math.round(ms * 1000);
    };
    const cpuUsPerMessage = perMessage(before, after);
    const machineCpuUsPerMessage = perMessage(machineBefore, machineAfter);
    if (result.failed > 0)
      progress(
        `warning: ${target.name}: ${result.failed} requests failed (answers ${JSON.stringify(result.statuses)})`,
      );
    return { ...result, cpuUsPerMessage, machineCpuUsPerMessage };
  };
  try {
    const targets = [service.target, bare];
    for (const t of targets) await run(t, plan.warmupSeconds);
    const samples = new Map<string, Round[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        const r = await run(t, plan.seconds);
        samples.get(t.name)!.push(r);
        progress(
          `http round ${round + 1}/${plan.rounds}: ${t.name} ${Math.round(r.rate)} messages/s, p99 ${r.p99Ms} ms, ` +
            `${r.cpuUsPerMessage ?? '?'} µs CPU per message (machine ${r.machineCpuUsPerMessage ?? '?'})`,
        );
      }
    }
    const rate = (name: string) => Math.round(median(samples.get(name)!.map((r) => r.rate)));
    const p99 = (name: string) => round2(median(samples.get(name)!.map((r) => r.p99Ms)));
    const cpu = (name: string, of: (r: Round) => number | null = (r) => r.cpuUsPerMessage) =>
      medianOrNull(
        samples.get(name)!.flatMap((r) => of(r) ?? []),
        0,
      );
    const rates = { service: rate('service'), bare: rate('bare') };
    return {
      ...rates,
      serviceP99Ms: p99('service'),
      bareP99Ms: p99('bare'),
      ratio: round2(rates.service / rates.bare),
      serviceCpuUsPerMessage: cpu('service'),
      bareCpuUsPerMessage: cpu('bare'),
      serviceMachineCpuUsPerMessage: cpu('service', (r) => r.machineCpuUsPerMessage),
      bareMachineCpuUsPerMessage: cpu('bare', (r) => r.machineCpuUsPerMessage),
    };
  } finally {
    await bareProcess.stop();
  }
}
