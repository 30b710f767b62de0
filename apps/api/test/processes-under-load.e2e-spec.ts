import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { comparePositions, PostgresEventStore, StoredEvent, UNLISTED_STREAM_PREFIX } from '@app/event-store';
import { ALL_PROJECTIONS, projectionLags } from '@app/projections';
import { createTestDatabase, readModelsDifferingFromRebuild, TestDatabase } from '@app/testing';
import { SEQUENCER_NAME } from '@app/transparency';
import { tlogLeavesOf } from './faults/checks';
import { createKeyOn } from './support/keys';
import { API_MAIN, eventually, NodeProcess, PROJECTOR_MAIN, sleep } from './support/node-process';

const LEASES = [...ALL_PROJECTIONS.map((p) => p.name), SEQUENCER_NAME];
const CONVERSATIONS = 6;
const WRITERS = 12;
const LOAD_MS = 6000;
const KILL_AT_MS = 2000;

interface Ack {
  conversationId: string;
  messageId: string;
  version: number;
  position: string;
}

/**
 * Two API processes (PROJECTIONS_IN_PROCESS=false) and two projectors on one database, under
 * concurrent writers on several conversations, through each API in turn; the active projector
 * is killed (SIGKILL) mid-load and the standby takes over. Every acknowledged message is read
 * back once, in commit order; the read models equal a rebuild; one projector is active at a time.
 */
describe('Two API processes and two projectors under load', () => {
  let db: TestDatabase;
  let apis: NodeProcess[] = [];
  let bases: string[] = [];
  const projectors: NodeProcess[] = [];
  let writer: Record<string, string>;
  let admin: Record<string, string>;

  const leasesTakenBy = (p: NodeProcess) =>
    LEASES.filter((name) => p.output.includes(`projection ${name}: lease taken`));
  const caughtUp = async () => (await projectionLags(db.pool, LEASES)).every((l) => l.lagEvents === 0);

  beforeAll(async () => {
    if (!existsSync(API_MAIN) || !existsSync(PROJECTOR_MAIN)) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
    }
    db = await createTestDatabase();
    const env = {
      DATABASE_URL: db.runtimeUrl,
      MIGRATION_DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      PROJECTIONS_IN_PROCESS: 'false',
      RATE_LIMITS: 'off',
    };
    apis = [new NodeProcess(API_MAIN, env), new NodeProcess(API_MAIN, env)];
    bases = await Promise.all(apis.map(async (a) => (await a.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]));
    // The first projector takes every lease; the second starts once it has, and stands by.
    projectors.push(new NodeProcess(PROJECTOR_MAIN, env));
    await eventually(
      'the first projector holds every lease',
      () => leasesTakenBy(projectors[0]).length === LEASES.length,
    );
    projectors.push(new NodeProcess(PROJECTOR_MAIN, env));
    await projectors[1].waitFor(/\[projector\] running/);
    const keyOf = async (role: 'writer' | 'admin', tenantId: string) => ({
      Authorization: `Bearer ${(await createKeyOn(db.url, { role, tenantId })).key}`,
      'Content-Type': 'application/json',
    });
    writer = await keyOf('writer', 'acme');
    admin = await keyOf('admin', '*');
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...apis, ...projectors].map((p) => p.stop('SIGKILL')));
    await db?.drop();
  });

  /** POSTs with one Idempotency-Key until 201, as a careful client does (any error or 5xx: again, same key). */
  async function post(path: string, body: unknown, turn: number): Promise<Record<string, unknown>> {
    const headers = { ...writer, 'Idempotency-Key': randomUUID() };
    for (let attempt = 0; ; attempt++) {
      const base = bases[(turn + attempt) % bases.length];
      try {
        const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
        const answer = (await res.json()) as Record<string, unknown>;
        if (res.status === 201) return answer;
        if (res.status < 500) throw new Error(`${path}: ${res.status} ${JSON.stringify(answer)}`);
      } catch (err) {
        if (err instanceof Error && /: 4\d\d /.test(err.message)) throw err;
      }
      if (attempt > 50) throw new Error(`${path}: no 201 after ${attempt} attempts`);
      await sleep(20);
    }
  }

  it('reads back every acknowledged message once in commit order, projects each once across a failover', async () => {
    const conversations: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const { conversationId } = await post(
        '/v1/conversations',
        { subjectId: `s-${i}`, modelId: 'claude-opus-4-1' },
        i,
      );
      conversations.push(conversationId as string);
    }
    const acks: Ack[] = [];
    // The standby's leases, seen while the first projector lives: there must never be any.
    const standbyLeasesWhileHolderLived = new Set<string>();
    const started = Date.now();
    let killed = false;
    let ackedAtKill = 0;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let n = 0; Date.now() - started < LOAD_MS; n++) {
        const conversationId = conversations[w % CONVERSATIONS];
        const body = { parentMessageId: null, role: 'user', content: `writer ${w} message ${n}` };
        const answer = await post(`/v1/conversations/${conversationId}/messages`, body, w + n);
        acks.push({
          conversationId,
          messageId: answer.messageId as string,
          version: answer.version as number,
          position: answer.position as string,
        });
      }
    });
    const watcher = (async () => {
      while (Date.now() - started < LOAD_MS) {
        if (!killed) leasesTakenBy(projectors[1]).forEach((name) => standbyLeasesWhileHolderLived.add(name));
        if (!killed && Date.now() - started > KILL_AT_MS) {
          killed = true;
          ackedAtKill = acks.length;
          expect(await projectors[0].stop('SIGKILL')).toBeNull();
        }
        await sleep(100);
      }
    })();
    await Promise.all([...writers, watcher]);
    expect(killed).toBe(true);
    // Written before and after the kill: the standby projected events the dead one never saw.
    expect(ackedAtKill).toBeGreaterThan(0);
    expect(acks.length).toBeGreaterThan(ackedAtKill);
    expect(acks.length).toBeGreaterThan(WRITERS);

    // One active projector at a time: the standby took no lease while the first one lived, and
    // every lease once it was dead.
    expect([...standbyLeasesWhileHolderLived]).toEqual([]);
    await eventually('the standby holds every lease', () => leasesTakenBy(projectors[1]).length === LEASES.length);
    await eventually('the projections caught up', caughtUp, 60_000);

    // The feed, page by page through the first API: in commit order, each acknowledged message once.
    const feed: Record<string, unknown>[] = [];
    for (let after: string | null = null; ;) {
      const query: string = after ? `?limit=500&after=${after}` : '?limit=500';
      const res = await fetch(`${bases[0]}/v1/events${query}`, { headers: admin });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: Record<string, unknown>[]; nextCursor: string | null };
      if (page.items.length === 0) break;
      feed.push(...page.items);
      after = page.nextCursor;
    }
    const store = new PostgresEventStore(db.pool);
    const log: StoredEvent[] = [];
    for (let after: string | null = null; ;) {
      const page = await store.readAll({ after, limit: 1000, listedOnly: true });
      if (page.events.length === 0) break;
      log.push(...page.events);
      after = page.nextPosition;
    }
    expect(feed.map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
    // Commit order itself, not only the reader the feed is built on: positions strictly increase,
    // and the feed holds every listed event the table holds.
    for (let i = 1; i < feed.length; i++) {
      expect(comparePositions(feed[i - 1].position as string, feed[i].position as string)).toBeLessThan(0);
    }
    const { rows: counted } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM es_events WHERE stream_id NOT LIKE $1 || '%'`,
      [UNLISTED_STREAM_PREFIX],
    );
    expect(feed).toHaveLength(counted[0].n);
    expect(new Set(feed.map((e) => e.eventId)).size).toBe(feed.length);
    const messages = feed.filter((e) => e.type === 'MessageAppended');
    expect(messages).toHaveLength(acks.length);
    const byPlace = new Map(messages.map((e) => [`${e.streamId}@${e.version}`, e]));
    for (const ack of acks) {
      const event = byPlace.get(`conversation-${ack.conversationId}@${ack.version}`);
      expect(event && { messageId: (event.data as { messageId: string }).messageId, position: event.position }).toEqual(
        { messageId: ack.messageId, position: ack.position },
      );
    }
    // Each stream's versions in feed order: 1, 2, 3, … with no gap and no repeat.
    const versions = new Map<string, number[]>();
    for (const e of feed)
      versions.set(e.streamId as string, [...(versions.get(e.streamId as string) ?? []), e.version as number]);
    for (const id of conversations) {
      const seen = versions.get(`conversation-${id}`)!;
      expect(seen).toEqual(seen.map((_, i) => i + 1));
    }

    // Stopped (the APIs flush their access entries), caught up, then the read models against a rebuild.
    await Promise.all(apis.map((a) => a.stop()));
    await eventually('the projections caught up after the APIs stopped', caughtUp, 60_000);
    expect(await projectors[1].stop()).toBe(0);
    expect(await readModelsDifferingFromRebuild(db.pool, store)).toEqual([]);
    // The sequencer, across the failover too: one leaf per event, indexes 0..n-1.
    const leaves = await tlogLeavesOf(db.pool);
    expect(leaves).toEqual({
      events: leaves.leaves,
      leaves: leaves.leaves,
      distinct: leaves.leaves,
      min: 0,
      max: leaves.leaves - 1,
      notOnce: 0,
      miscounted: 0,
    });
  }, 180_000);
});
