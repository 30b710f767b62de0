import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { conversationCommandDeps, type ConversationCommandDeps } from '@app/application';
import { POLICY_V1 } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import { type ContentSealer, sealText } from '@app/privacy';
import { benchContentSealer } from '../content-key';
import { CONTENT_300 } from '../http/message-load';
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

const TENANT = 'bench-encryption';
const UNLIMITED = { maxEvents: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

/** Writes the events as they come: what the service did before content was encrypted. */
const PLAINTEXT: ContentSealer = {
  seal: async (_owner, events) => events,
  requestTag: async (_sealed, requestHash) => requestHash,
  requestTagUnder: async () => null,
  forget: () => undefined,
};

/** The length of the JSON a sealed message content takes in an event, for the bench's content. */
function sealedContentLength(): number {
  const envelope = sealText({ kid: randomUUID(), key: randomBytes(32) }, randomUUID(), 'content', CONTENT_300);
  return JSON.stringify(envelope).length;
}

/** Plaintext as long as its sealed envelope (its JSON string then weighs what the envelope does). */
function paddedPlaintext(): ContentSealer {
  const length = sealedContentLength() - 2; // the string's quotes
  const pad = (data: Record<string, unknown>) =>
    typeof data.content === 'string' ? { ...data, content: data.content.padEnd(length, '=') } : data;
  return { ...PLAINTEXT, seal: async (_owner, events) => events.map((e) => ({ ...e, data: pad(e.data) })) };
}

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
      { name: 'sizeOnly' as const, deps: depsWith(pool, store, paddedPlaintext()) },
    ];
    type Name = (typeof contenders)[number]['name'];
    for (const c of contenders) await measure(c.deps, plan.connections, plan.warmupSeconds);
    const rates = { sealed: [], plain: [], sizeOnly: [] } as Record<Name, number[]>;
    const p99 = { sealed: [], plain: [], sizeOnly: [] } as Record<Name, number[]>;
    const cpu = { sealed: [], plain: [], sizeOnly: [] } as Record<Name, number[]>;
    const ratios = { sealed: [], sizeOnly: [] } as Record<'sealed' | 'sizeOnly', number[]>;
    const cpuRatios = { sealed: [], sizeOnly: [] } as Record<'sealed' | 'sizeOnly', number[]>;
    for (let round = 0; round < plan.rounds; round++) {
      // each round starts with the next contender: every one runs first, second and last in turn
      const order = [...contenders.slice(round % 3), ...contenders.slice(0, round % 3)];
      const got = {} as Record<Name, { rate: number; cpuUs: number | null }>;
      for (const c of order) {
        const { rate, p99: ms, cpuUs } = await measure(c.deps, plan.connections, plan.seconds);
        rates[c.name].push(rate);
        p99[c.name].push(ms);
        if (cpuUs !== null) cpu[c.name].push(cpuUs);
        got[c.name] = { rate, cpuUs };
        progress(
          `encryption round ${round + 1}/${plan.rounds}: ${c.name} ${Math.round(rate)} messages/s, ` +
            `${cpuUs === null ? '?' : Math.round(cpuUs)} µs of machine CPU per message`,
        );
      }
      for (const name of ['sealed', 'sizeOnly'] as const) {
        ratios[name].push(got[name].rate / got.plain.rate);
        const [own, plain] = [got[name].cpuUs, got.plain.cpuUs];
        if (own !== null && plain !== null) cpuRatios[name].push(own / plain);
      }
    }
    const medianOrNull = (v: number[], digits: number) => (v.length ? Number(median(v).toFixed(digits)) : null);
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
    await store.close();
    await pool.end();
  }
}
