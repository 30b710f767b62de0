import { setTimeout as sleep } from 'node:timers/promises';
import { MESSAGE_BODY, type HttpTarget } from './message-load';
import { machineCpuMs } from './node-process';
import { startBareRoute } from './http-bench';
import type { RunningService } from './service';
import { medianOrNull, perUnit } from '../stats';

export interface SteadyPlan {
  /** Messages per second, one at a time. */
  rate: number;
  seconds: number;
  rounds: number;
  /** Conversations the messages go to in turn. */
  conversations: number;
}

/**
 * What a message costs at a steady low rate (one at a time, `rate` a second), in ms of CPU: the
 * service's process (its projections in process, until they hold every message) and the whole
 * machine's (PostgreSQL's included), against the bare route at the same rate; medians of the
 * rounds. And what the service spends idle, in ms of CPU a second. Null without /proc.
 */
export interface SteadyResult {
  rate: number;
  serviceCpuMsPerMessage: number | null;
  bareCpuMsPerMessage: number | null;
  serviceMachineCpuMsPerMessage: number | null;
  bareMachineCpuMsPerMessage: number | null;
  /** Machine CPU per message, service/bare. */
  machineRatio: number | null;
  serviceIdleCpuMsPerSecond: number | null;
}

/** Sends `rate × seconds` messages one at a time, `rate` a second, to the conversations in turn. */
async function paced(target: HttpTarget, ids: string[], rate: number, seconds: number): Promise<number> {
  const headers = { ...target.headers, 'content-type': 'application/json' };
  const messages = Math.round(rate * seconds);
  const started = performance.now();
  for (let i = 0; i < messages; i++) {
    const res = await fetch(`${target.url}/v1/conversations/${ids[i % ids.length]}/messages`, {
      method: 'POST',
      headers,
      body: MESSAGE_BODY,
    });
    if (res.status !== 201)
      throw new Error(`${target.name}: POST …/messages answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    await sleep(started + ((i + 1) * 1000) / rate - performance.now());
  }
  return messages;
}

export async function runSteadyBenchmark(
  databaseUrl: string,
  service: RunningService,
  plan: SteadyPlan,
  progress: (line: string) => void,
): Promise<SteadyResult> {
  const { process: bareProcess, target: bare } = await startBareRoute(databaseUrl);
  try {
    await service.caughtUp(100);
    const idle0 = service.cpuMs();
    await sleep(plan.seconds * 1000);
    const idle = perUnit(idle0, service.cpuMs(), plan.seconds);
    progress(`steady: the service idle, ${idle?.toFixed(1) ?? '?'} ms of CPU a second`);
    const targets = [service.target, bare];
    const ids = new Map<string, string[]>();
    for (const t of targets) ids.set(t.name, await t.conversations(plan.conversations));
    await service.caughtUp(100);
    const samples = new Map<string, { own: number | null; machine: number | null }[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const t of round % 2 ? [...targets].reverse() : targets) {
        const cpu = () => (t.name === 'service' ? service.cpuMs() : bareProcess.cpuMs());
        const own0 = cpu();
        const machine0 = machineCpuMs();
        const n = await paced(t, ids.get(t.name)!, plan.rate, plan.seconds);
        if (t.name === 'service') await service.caughtUp(100);
        const sample = { own: perUnit(own0, cpu(), n), machine: perUnit(machine0, machineCpuMs(), n) };
        samples.get(t.name)!.push(sample);
        progress(
          `steady round ${round + 1}/${plan.rounds}: ${t.name} ${plan.rate} messages/s, ` +
            `${sample.own?.toFixed(2) ?? '?'} ms of its CPU per message (machine ${sample.machine?.toFixed(2) ?? '?'})`,
        );
      }
    }
    const median = (name: string, of: 'own' | 'machine') =>
      medianOrNull(
        samples.get(name)!.flatMap((s) => s[of] ?? []),
        2,
      );
    const serviceMachine = median('service', 'machine');
    const bareMachine = median('bare', 'machine');
    return {
      rate: plan.rate,
      serviceCpuMsPerMessage: median('service', 'own'),
      bareCpuMsPerMessage: median('bare', 'own'),
      serviceMachineCpuMsPerMessage: serviceMachine,
      bareMachineCpuMsPerMessage: bareMachine,
      machineRatio:
        serviceMachine === null || bareMachine === null || bareMachine === 0
          ? null
          : Number((serviceMachine / bareMachine).toFixed(2)),
      serviceIdleCpuMsPerSecond: idle === null ? null : Number(idle.toFixed(1)),
    };
  } finally {
    await bareProcess.stop();
  }
}
