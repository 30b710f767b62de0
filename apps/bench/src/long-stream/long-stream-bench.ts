import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { CONTENT_300 } from '../http/message-load';
import { BENCH_TENANT, RunningService } from '../http/service';
import { median } from '../stats';
import { appendMessage, benchCommandDeps, BuiltConversation, buildConversation } from './conversation-builder';

export interface LongStreamPlan {
  /** Events of the long conversation (10,000) and of each short one (10). */
  longEvents: number;
  shortEvents: number;
  /** Measured appends to each kind, after a warm-up of WARMUP each. */
  appends: number;
}

/** Median milliseconds of one message appended through HTTP, to a short and to a long conversation. */
export interface LongStreamResult {
  shortMs: number;
  longMs: number;
  ratio: number;
  /**
   * The same through handleConversationCommand with no state cache: each append loads the newest
   * snapshot and folds the events after it (what a process that has not seen the conversation pays).
   */
  coldShortMs: number;
  coldLongMs: number;
  coldRatio: number;
  /**
   * The service's CPU time per message (ms), from the append until every projection has applied
   * it (one message at a time): what a message costs the process, its read models included.
   */
  serviceCpuShortMs: number | null;
  serviceCpuLongMs: number | null;
  serviceCpuRatio: number | null;
}

const WARMUP = 3;
/** The short appends are spread over this many conversations, so that each stays near its size. */
const SHORT_CONVERSATIONS = 25;

const round2 = (n: number) => Math.round(n * 100) / 100;

/** POST …/messages answering the previous message; the conversation moves on to the new one. Milliseconds. */
async function appendOne(service: RunningService, c: BuiltConversation): Promise<number> {
  const role = c.lastRole === 'user' ? 'assistant' : 'user';
  const { url, headers } = service.target;
  const started = performance.now();
  const res = await fetch(`${url}/v1/conversations/${c.conversationId}/messages`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ parentMessageId: c.lastMessageId, role, content: CONTENT_300 }),
  });
  const body = (await res.json()) as { messageId?: string };
  const ms = performance.now() - started;
  if (res.status !== 201 || !body.messageId)
    throw new Error(`append to ${c.conversationId}: ${res.status} ${JSON.stringify(body)}`);
  c.lastMessageId = body.messageId;
  c.lastRole = role;
  return ms;
}

/**
 * One message at a time through the running service, alternately to the long conversation and
 * to one of the short ones, so that both see the same moment of the machine; the median of each.
 */
export async function runLongStreamBenchmark(
  databaseUrl: string,
  service: RunningService,
  plan: LongStreamPlan,
  progress: (line: string) => void,
): Promise<LongStreamResult> {
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  const store = new PostgresEventStore(pool);
  let long: BuiltConversation;
  const short: BuiltConversation[] = [];
  const cold = { long: [] as number[], short: [] as number[] };
  try {
    const started = Date.now();
    const deps = benchCommandDeps(pool, store);
    long = await buildConversation(deps, BENCH_TENANT, plan.longEvents);
    for (let i = 0; i < SHORT_CONVERSATIONS; i++)
      short.push(await buildConversation(deps, BENCH_TENANT, plan.shortEvents));
    await deps.states.flush();
    progress(
      `built a ${plan.longEvents}-event conversation and ${SHORT_CONVERSATIONS} of ${plan.shortEvents}` +
        ` through handleConversationCommand in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    // Cold: a process without the state cache loads the snapshot and folds the tail each time.
    const uncached = benchCommandDeps(pool, store, 0);
    for (let i = 0; i < WARMUP + plan.appends; i++) {
      const t0 = performance.now();
      await appendMessage(uncached, BENCH_TENANT, long);
      const t1 = performance.now();
      await appendMessage(uncached, BENCH_TENANT, short[i % short.length]);
      if (i < WARMUP) continue;
      cold.long.push(t1 - t0);
      cold.short.push(performance.now() - t1);
    }
    await uncached.states.flush();
    progress(`longStream cold: median ${round2(median(cold.long))} ms long, ${round2(median(cold.short))} ms short`);
  } finally {
    await store.close();
    await pool.end();
  }
  await service.caughtUp();
  const times = { long: [] as number[], short: [] as number[] };
  for (let i = 0; i < WARMUP + plan.appends; i++) {
    const longMs = await appendOne(service, long);
    const shortMs = await appendOne(service, short[i % short.length]);
    if (i < WARMUP) continue;
    times.long.push(longMs);
    times.short.push(shortMs);
    if ((i - WARMUP + 1) % 10 === 0) {
      progress(
        `longStream: ${i - WARMUP + 1}/${plan.appends} appends, median ${round2(median(times.long))} ms long,` +
          ` ${round2(median(times.short))} ms short`,
      );
    }
  }
  // What a message costs the service, its projections included: its CPU from the append until
  // the read models hold it, one message at a time (looking every 5 ms: the looking costs the
  // database, not the service).
  const cpu = { long: 0, short: 0, known: true };
  for (let i = 0; i < WARMUP + plan.appends; i++) {
    for (const [kind, c] of [
      ['long', long],
      ['short', short[i % short.length]],
    ] as const) {
      const before = service.cpuMs();
      await appendOne(service, c);
      await service.caughtUp(5);
      const after = service.cpuMs();
      if (before === null || after === null) cpu.known = false;
      else if (i >= WARMUP) cpu[kind] += after - before;
    }
  }
  const perMessage = (ms: number) => (cpu.known ? round2(ms / plan.appends) : null);
  const serviceCpuLongMs = perMessage(cpu.long);
  const serviceCpuShortMs = perMessage(cpu.short);
  progress(
    `longStream service CPU per message: ${serviceCpuLongMs ?? '?'} ms long, ${serviceCpuShortMs ?? '?'} ms short`,
  );
  const shortMs = round2(median(times.short));
  const longMs = round2(median(times.long));
  const coldShortMs = round2(median(cold.short));
  const coldLongMs = round2(median(cold.long));
  return {
    shortMs,
    longMs,
    ratio: round2(longMs / shortMs),
    coldShortMs,
    coldLongMs,
    coldRatio: round2(coldLongMs / coldShortMs),
    serviceCpuShortMs,
    serviceCpuLongMs,
    serviceCpuRatio:
      serviceCpuLongMs === null || serviceCpuShortMs === null ? null : round2(serviceCpuLongMs / serviceCpuShortMs),
  };
}
