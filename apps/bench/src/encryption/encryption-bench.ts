import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { ContenderMessage, ContenderName, ContenderRequest } from './encryption-contender';
import { median, medianOrNull } from '../stats';

export interface EncryptionPlan {
  /** Writers at once, each on a conversation of its own. */
  connections: number;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
}

/**
 * Messages per second through the command path, sealed and not (medians of the rounds); p99 of
 * each; sealed / plain, the median over rounds of contenders run back to back (a round shares
 * the machine's load, which drifts over a run); and the machine's CPU time per message in each
 * (µs, every process: the bench and PostgreSQL's; null without /proc/stat) with its ratio.
 *
 * `sizeOnly*`: a third contender writing plaintext padded to the length the sealed envelope
 * takes (no cryptography): what the larger rows alone cost, so that `ratio` can be read as
 * `sizeOnlyRatio` (bytes) times what sealing adds in the process.
 */
export interface EncryptionResult {
  sealed: number;
  plain: number;
  sealedP99Ms: number;
  plainP99Ms: number;
  ratio: number;
  sealedCpuUs: number | null;
  plainCpuUs: number | null;
  cpuRatio: number | null;
  sizeOnly: number;
  sizeOnlyRatio: number;
  sizeOnlyCpuRatio: number | null;
}

/** A contender's process, ready to run. */
interface Contender {
  name: ContenderName;
  /** Appends for `seconds`; its messages, their rate, p99 and the machine's CPU per message. */
  run(seconds: number): Promise<{ rate: number; p99Ms: number; cpuUs: number | null; ownCpuUs: number }>;
  stop(): Promise<void>;
}

async function startContender(url: string, name: ContenderName, connections: number): Promise<Contender> {
  const child: ChildProcess = fork(join(__dirname, 'encryption-contender.js'), [], {
    env: { ...process.env, DATABASE_URL: url, CONTENDER: name, CONNECTIONS: String(connections) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // a failed fork or a send on a closed channel: the pending next() learns of it by the exit
  child.on('error', (err) => process.stderr.write(`encryption contender ${name}: ${err.message}\n`));
  const next = <T extends ContenderMessage['type']>(type: T, request?: ContenderRequest) =>
    new Promise<Extract<ContenderMessage, { type: T }>>((done, fail) => {
      const onMessage = (m: ContenderMessage) =>
        m.type === type && (settle(), done(m as Extract<ContenderMessage, { type: T }>));
      const onExit = () => (settle(), fail(new Error(`the ${name} contender exited (waiting for ${type})`)));
      const settle = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (request) child.send(request, (err) => err && (settle(), fail(err)));
    });
  try {
    await next('ready');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    name,
    async run(seconds) {
      const r = await next('result', { type: 'run', seconds });
      return { rate: r.messages / r.seconds, p99Ms: r.p99Ms, cpuUs: r.machineCpuUs, ownCpuUs: r.ownCpuUs };
    },
    async stop() {
      if (child.connected) child.send({ type: 'stop' }, () => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((done) => (timer = setTimeout(done, 10_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * The append rate of messages with content encryption (a key per conversation, made on its first
 * message, AES-256-GCM per field) against the same command path writing plaintext, on one
 * database in one run: both through handleConversationCommand (queue, state cache, group commit),
 * each contender in a process of its own (as a service configured that way: its own heap and
 * compiled code), warmed up, then taking turns in rounds, the order rotating, each round on
 * fresh conversations (so every round pays the key creation of its conversations' first
 * messages too). This process only waits meanwhile.
 */
export async function runEncryptionBenchmark(
  url: string,
  plan: EncryptionPlan,
  progress: (line: string) => void,
): Promise<EncryptionResult> {
  const names: ContenderName[] = ['sealed', 'plain', 'sizeOnly'];
  const contenders: Contender[] = [];
  try {
    for (const name of names) contenders.push(await startContender(url, name, plan.connections));
    for (const c of contenders) await c.run(plan.warmupSeconds);
    const rates = { sealed: [], plain: [], sizeOnly: [] } as Record<ContenderName, number[]>;
    const p99 = { sealed: [], plain: [], sizeOnly: [] } as Record<ContenderName, number[]>;
    const cpu = { sealed: [], plain: [], sizeOnly: [] } as Record<ContenderName, number[]>;
    const ratios = { sealed: [], sizeOnly: [] } as Record<'sealed' | 'sizeOnly', number[]>;
    const cpuRatios = { sealed: [], sizeOnly: [] } as Record<'sealed' | 'sizeOnly', number[]>;
    for (let round = 0; round < plan.rounds; round++) {
      // each round starts with the next contender: every one runs first, second and last in turn
      const order = [...contenders.slice(round % 3), ...contenders.slice(0, round % 3)];
      const got = {} as Record<ContenderName, { rate: number; cpuUs: number | null }>;
      for (const c of order) {
        const { rate, p99Ms, cpuUs, ownCpuUs } = await c.run(plan.seconds);
        rates[c.name].push(rate);
        p99[c.name].push(p99Ms);
        if (cpuUs !== null) cpu[c.name].push(cpuUs);
        got[c.name] = { rate, cpuUs };
        progress(
          `encryption round ${round + 1}/${plan.rounds}: ${c.name} ${Math.round(rate)} messages/s, ` +
            `${cpuUs === null ? '?' : Math.round(cpuUs)} µs of machine CPU per message ` +
            `(${Math.round(ownCpuUs)} in its process)`,
        );
      }
      for (const name of ['sealed', 'sizeOnly'] as const) {
        ratios[name].push(got[name].rate / got.plain.rate);
        const [own, plain] = [got[name].cpuUs, got.plain.cpuUs];
        if (own !== null && plain !== null) cpuRatios[name].push(own / plain);
      }
    }
    return {
      sealed: Math.round(median(rates.sealed)),
      plain: Math.round(median(rates.plain)),
      sealedP99Ms: Number(median(p99.sealed).toFixed(1)),
      plainP99Ms: Number(median(p99.plain).toFixed(1)),
      ratio: Number(median(ratios.sealed).toFixed(2)),
      sealedCpuUs: medianOrNull(cpu.sealed, 0),
      plainCpuUs: medianOrNull(cpu.plain, 0),
      cpuRatio: medianOrNull(cpuRatios.sealed, 2),
      sizeOnly: Math.round(median(rates.sizeOnly)),
      sizeOnlyRatio: Number(median(ratios.sizeOnly).toFixed(2)),
      sizeOnlyCpuRatio: medianOrNull(cpuRatios.sizeOnly, 2),
    };
  } finally {
    await Promise.all(contenders.map((c) => c.stop()));
  }
}
