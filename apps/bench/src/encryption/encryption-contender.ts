import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { conversationCommandDeps, type ConversationCommandDeps } from '@app/application';
import { POLICY_V1 } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import { tuneRuntime } from '@app/platform';
import { type ContentSealer, sealText } from '@app/privacy';
import { benchContentSealer } from '../content-key';
import { CONTENT_300 } from '../http/message-load';
import { machineCpuMs } from '../http/node-process';
import { appendMessage, type BuiltConversation, runCommand } from '../long-stream/conversation-builder';
import { percentile } from '../stats';

/**
 * One contender of the `encryption` figure in a process of its own (forked by
 * encryption-bench.ts): the command path as a service configured that way runs it, its heap and
 * compiled code its own. It waits for `run` messages, appends for that long, and answers.
 *
 * Environment: DATABASE_URL; CONTENDER (`sealed`, `plain` or `sizeOnly`); CONNECTIONS (writers
 * at once); CONTENT_KEY_FILE (the run's master key, set by the parent).
 */
export type ContenderName = 'sealed' | 'plain' | 'sizeOnly';

export type ContenderRequest = { type: 'run'; seconds: number } | { type: 'stop' };

export type ContenderMessage =
  | { type: 'ready' }
  | {
      type: 'result';
      messages: number;
      seconds: number;
      p99Ms: number;
      /** CPU time of this process per message (user + system, every thread), µs. */
      ownCpuUs: number;
      /** The machine's busy CPU time per message over the timed window (every process), µs; null without /proc. */
      machineCpuUs: number | null;
    };

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

const sealers: Record<ContenderName, (pool: Pool) => ContentSealer> = {
  sealed: (pool) => benchContentSealer(pool),
  plain: () => PLAINTEXT,
  sizeOnly: () => paddedPlaintext(),
};

async function started(deps: ConversationCommandDeps): Promise<BuiltConversation> {
  const conversationId = randomUUID();
  await runCommand(deps, TENANT, conversationId, {
    type: 'StartConversation',
    data: { conversationId, tenantId: TENANT, subjectId: `s-${conversationId}`, modelId: 'claude-opus-4-1' },
  });
  return { conversationId, lastMessageId: '', lastRole: 'assistant' };
}

/**
 * `connections` writers, each appending 300-byte messages to a new conversation of its own for
 * `seconds` (the conversations are started first, untimed; each one's first message makes its
 * content key, timed).
 */
async function measure(deps: ConversationCommandDeps, connections: number, seconds: number) {
  const conversations = await Promise.all(Array.from({ length: connections }, () => started(deps)));
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const machine0 = machineCpuMs();
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
  const elapsed = (performance.now() - t0) / 1000;
  const machine1 = machineCpuMs();
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const messages = latencies.length;
  return {
    messages,
    seconds: elapsed,
    p99Ms: percentile(latencies, 0.99),
    ownCpuUs: (cpu.user + cpu.system) / messages,
    machineCpuUs: machine0 === null || machine1 === null ? null : ((machine1 - machine0) * 1000) / messages,
  };
}

async function main(): Promise<void> {
  tuneRuntime();
  const name = process.env.CONTENDER as ContenderName;
  if (!(name in sealers)) throw new Error(`CONTENDER must be one of ${Object.keys(sealers).join(', ')}`);
  const connections = Number(process.env.CONNECTIONS ?? 64);
  // idle for seconds between its turns: keep its connections (pg closes them after 10 s idle)
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 16, idleTimeoutMillis: 0 });
  const store = new PostgresEventStore(pool);
  const deps = conversationCommandDeps({
    store,
    snapshots: new PostgresSnapshotStore(pool),
    policy: () => POLICY_V1,
    limits: UNLIMITED,
    content: sealers[name](pool),
  });
  const send = (m: ContenderMessage) => process.send?.(m);
  // one request at a time: the parent waits for each answer before it sends the next
  process.on('message', (request: ContenderRequest) => {
    if (request.type === 'stop') {
      void store
        .close()
        .then(() => pool.end())
        .finally(() => process.exit(0));
      return;
    }
    measure(deps, connections, request.seconds).then(
      (result) => send({ type: 'result', ...result }),
      (err: unknown) => {
        process.stderr.write(`encryption contender ${name}: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

void main().catch((err: unknown) => {
  process.stderr.write(`encryption contender: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
