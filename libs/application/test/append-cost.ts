// What appending one message costs through handleConversationCommand on a 10-event and on a
// 10,000-event conversation: warm (state cache), cold (newest snapshot and the events after it),
// and the fold of one command's events onto a 10,000-event state (copy vs in place).
// Run: DATABASE_URL=… CONTENT_KEY_FILE=… node <built>/libs/application/test/append-cost.js (a migrated database).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { decide, foldEvents, foldEventsInPlace, POLICY_V1, streamIdOf } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import {
  conversationCommandDeps,
  type ConversationCommandDeps,
  handleConversationCommand,
  toCommandEvent,
} from '../src';
import { testContentSealer } from '@app/testing';

const TENANT = 'bench';
const caller = { keyId: 'bench', role: 'writer', tenantId: TENANT, holder: null };
const content = 'x'.repeat(300);

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 8 });
  const store = new PostgresEventStore(pool);
  const snapshots = new PostgresSnapshotStore(pool);
  const limits = { maxEvents: 1_000_000, maxBytes: 1e12 };
  // CONTENT_KEY_FILE: the master key the messages are sealed under, as the service seals them.
  const sealer = testContentSealer(pool);
  const depsOf = (cacheEvents: number) =>
    conversationCommandDeps({ store, snapshots, policy: () => POLICY_V1, limits, cacheEvents, content: sealer });
  const warm = depsOf(500_000);
  const leaves = new Map<string, string | null>();
  const append = async (deps: ConversationCommandDeps, id: string) => {
    const messageId = randomUUID();
    const parentMessageId = leaves.get(id) ?? null;
    const context = { principal: caller, origin: 'caller' as const, correlationId: messageId };
    const command = {
      type: 'AppendMessage' as const,
      data: { messageId, parentMessageId, role: 'user' as const, content },
    };
    await handleConversationCommand(deps, { conversationId: id, command, context });
    leaves.set(id, messageId);
  };
  const conversation = async (events: number) => {
    const id = randomUUID();
    const context = { principal: caller, origin: 'caller' as const, correlationId: id };
    const data = { conversationId: id, tenantId: TENANT, subjectId: 's', modelId: 'claude-opus-4-1' };
    await handleConversationCommand(warm, {
      conversationId: id,
      command: { type: 'StartConversation', data },
      context,
    });
    for (let i = 1; i < events; i++) await append(warm, id);
    return id;
  };
  const t0 = performance.now();
  const [short, long] = [await conversation(10), await conversation(10_000)];
  console.log(`written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await warm.states.flush();

  /** Mean ms per append, the two conversations interleaved so that both see the same noise. */
  const measure = async (label: string, deps: () => ConversationCommandDeps, n: number) => {
    const ms = { short: 0, long: 0 };
    for (let i = 0; i < n; i++) {
      for (const [key, id] of [
        ['short', short],
        ['long', long],
      ] as const) {
        const d = deps();
        const start = performance.now();
        await append(d, id);
        ms[key] += performance.now() - start;
      }
    }
    const [s, l] = [ms.short / n, ms.long / n];
    console.log(
      `${label}: 10 events ${s.toFixed(2)} ms, 10,000 events ${l.toFixed(2)} ms, ratio ${(l / s).toFixed(2)}`,
    );
  };
  await measure('warm (cache)', () => warm, 300);
  await measure('cold (snapshot + tail)', () => depsOf(0), 150);
  await measure(
    'cold, no snapshots (whole stream)',
    () =>
      conversationCommandDeps({
        store,
        snapshots: null,
        policy: () => POLICY_V1,
        limits,
        cacheEvents: 0,
        content: sealer,
      }),
    20,
  );

  // CPU of one command on the long state: decide, then fold its event (copy vs in place).
  const state = foldEvents((await store.readStream(streamIdOf(long))).map(toCommandEvent));
  const command = {
    type: 'AppendMessage' as const,
    data: { messageId: randomUUID(), parentMessageId: leaves.get(long)!, role: 'user' as const, content },
  };
  const event = {
    ...decide(command, state, POLICY_V1)[0],
    eventId: randomUUID(),
    version: state.version + 1,
    occurredAt: new Date().toISOString(),
  };
  const time = (f: () => unknown, n = 200) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) f();
    return ((performance.now() - start) / n).toFixed(3);
  };
  const decideMs = time(() => decide(command, state, POLICY_V1));
  const copyMs = time(() => foldEvents([event as never], state));
  console.log(`on ${state.version} events: decide ${decideMs} ms, foldEvents (copy) ${copyMs} ms`);
  const owned = foldEvents([], state);
  let v = state.version;
  const next = () => ({ ...event, data: { ...event.data, messageId: randomUUID() }, version: ++v }) as never;
  console.log(`foldEventsInPlace ${time(() => foldEventsInPlace(owned, [next()]), 2000)} ms`);
  await store.close();
  await pool.end();
}

void main();
