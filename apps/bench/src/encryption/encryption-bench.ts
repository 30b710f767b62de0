import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { conversationCommandDeps, type ConversationCommandDeps } from '@app/application';
import { POLICY_V1 } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import type { ContentSealer } from '@app/privacy';
import { benchContentSealer } from '../content-key';
import { machineCpuMs } from '../http/node-process';
import { appendMessage, type BuiltConversation, runCommand } from '../long-stream/conversation-builder';

export interface EncryptionPlan {
  /** Writers at once, each on a conversation of its own. */
  connections: number;
  rounds: number;
  seconds: number;
  warmupSeconds: number;
}

/**
 * Messages per second through the command path, sealed and not (medians of the rounds); p99 of
 * each; sealed / plain, the median over pairs of rounds run back to back (a pair shares the
 * machine's load, which drifts over a run); and the machine's CPU time per message in each (µs,
 * every process: the bench and PostgreSQL's; null without /proc/stat) with its ratio sealed/plain.
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
}

const TENANT = 'bench-encryption';
const UNLIMITED = { maxEvents: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

/** Writes the events as they come: what the service did before content was encrypted. */
const PLAINTEXT: ContentSealer = { seal: async (_owner, events) => events, forget: () => undefined };

const depsWith = (pool: Pool, store: PostgresEventStore, content: ContentSealer): ConversationCommandDeps =>
  conversationCommandDeps({
    store,
    snapshots: new PostgresSnapshotStore(pool),
    policy: () => POLICY_V1,
    limits: UNLIMITED,
    content,
  });

async function started(deps: ConversationCommandDeps): Promise<BuiltConversation> {
  const conversationId = randomUUID();
  await runCommand(deps, TENANT, conversationId, {
    type: 'StartConversation',
    data: { conversationId, tenantId: TENANT, subjectId: `s-${conversationId}`, modelId: 'claude-opus-4-1' },
  });
  return { conversationId, lastMessageId: '', lastRole: 'assistant' };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** `connections` writers, each appending 300-byte messages to its own conversation for `seconds`. */
async function measure(deps: ConversationCommandDeps, connections: number, seconds: number) {
  const conversations = await Promise.all(Array.from({ length: connections }, () => started(deps)));
  const latencies: number[] = [];
  const cpuBefore = machineCpuMs();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    conversations.map(async (c) => {
      while (performance.now() < deadline) {
        const s = performance.now();
        await appendMessage(deps, TENANT, c);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const cpuAfter = machineCpuMs();
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / ((performance.now() - t0) / 1000),
    p99: percentile(latencies, 0.99),
    cpuUs: cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1000) / latencies.length,
  };
}

/**
 * The append rate of messages with content encryption (a key per conversation, made on its first
 * message, AES-256-GCM per field) against the same command path writing plaintext, on one
 * database in one run: both through handleConversationCommand (queue, state cache, group commit),
 * interleaved rounds, the order alternating, each round on fresh conversations (so every round
 * pays the key creation of its conversations' first messages too).
 */
export async function runEncryptionBenchmark(
  url: string,
  plan: EncryptionPlan,
  progress: (line: string) => void,
): Promise<EncryptionResult> {
  const pool = new Pool({ connectionString: url, max: 16 });
  const store = new PostgresEventStore(pool);
  try {
    const contenders = [
      { name: 'sealed' as const, deps: depsWith(pool, store, benchContentSealer(pool)) },
      { name: 'plain' as const, deps: depsWith(pool, store, PLAINTEXT) },
    ];
    for (const c of contenders) await measure(c.deps, plan.connections, plan.warmupSeconds);
    const samples = { sealed: [] as number[], plain: [] as number[] };
    const p99 = { sealed: [] as number[], plain: [] as number[] };
    const cpu = { sealed: [] as number[], plain: [] as number[] };
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      const pair: Record<string, { rate: number; cpuUs: number | null }> = {};
      for (const c of round % 2 ? [...contenders].reverse() : contenders) {
        const { rate, p99: ms, cpuUs } = await measure(c.deps, plan.connections, plan.seconds);
        samples[c.name].push(rate);
        p99[c.name].push(ms);
        if (cpuUs !== null) cpu[c.name].push(cpuUs);
        pair[c.name] = { rate, cpuUs };
        progress(
          `encryption round ${round + 1}/${plan.rounds}: ${c.name} ${Math.round(rate)} messages/s, ` +
            `${cpuUs === null ? '?' : Math.round(cpuUs)} µs of machine CPU per message`,
        );
      }
      ratios.push(pair.sealed.rate / pair.plain.rate);
      const [sealedCpu, plainCpu] = [pair.sealed.cpuUs, pair.plain.cpuUs];
      if (sealedCpu !== null && plainCpu !== null) cpuRatios.push(sealedCpu / plainCpu);
    }
    const medianOrNull = (v: number[], digits: number) => (v.length ? Number(median(v).toFixed(digits)) : null);
    return {
      sealed: Math.round(median(samples.sealed)),
      plain: Math.round(median(samples.plain)),
      sealedP99Ms: Number(median(p99.sealed).toFixed(1)),
      plainP99Ms: Number(median(p99.plain).toFixed(1)),
      ratio: Number(median(ratios).toFixed(2)),
      sealedCpuUs: medianOrNull(cpu.sealed, 0),
      plainCpuUs: medianOrNull(cpu.plain, 0),
      cpuRatio: medianOrNull(cpuRatios, 2),
    };
  } finally {
    await store.close();
    await pool.end();
  }
}
