import { createHash, randomUUID } from 'node:crypto';
import { ConversationError, streamIdOf } from '@app/conversation';
import { IdempotencyKeyReused, PostgresEventStore, VersionConflict } from '@app/event-store';
import { contentSealer, eraseConversationInTransaction } from '@app/privacy';
import { createTestDatabase, TestDatabase, testContentKeys, testContentSealer } from '@app/testing';
import { abusiveThread, freshFold, modelEnd, OPERATOR, processDeps, run, say, start } from '../test/command-fixtures';
import { ConversationBusy, ConversationNotFound } from './errors';
import {
  type CommandStore,
  type ConversationCommandDeps,
  handleConversationCommand,
} from './handle-conversation-command';
import { StaleVersion } from './errors';

describe(handleConversationCommand.name, () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  /** `deps` whose every append first lets `other` (another process) append a message: a conflict. */
  function racing(deps: ConversationCommandDeps, other: ConversationCommandDeps, id: string, times: number) {
    const appends = { tried: 0 };
    const raced: CommandStore = {
      readByEventIds: (ids) => deps.store.readByEventIds(ids),
      findIdempotentResult: (scope, key) => deps.store.findIdempotentResult(scope, key),
      append: async (...args) => {
        if (appends.tried++ < times) await run(other, id, say(null));
        return deps.store.append(...args);
      },
    };
    return { deps: { ...deps, store: raced }, appends };
  }

  describe('when another process appends between its load and its append', () => {
    it('decides again on the newer state after a jittered wait, and caches the state it appended', async () => {
      const id = randomUUID();
      const random = jest.fn(() => 0.5);
      const a = processDeps(db.pool, { retry: { random } });
      const b = processDeps(db.pool);
      await run(a, id, start(id));
      const { deps, appends } = racing(a, b, id, 1);
      const outcome = await run(deps, id, say(null));
      expect([outcome.version, appends.tried, random.mock.calls.length]).toEqual([3, 2, 1]);
      const fresh = await freshFold(store, id);
      expect(fresh.types).toEqual(['ConversationStarted', 'MessageAppended', 'MessageAppended']);
      // The cache was dropped on the conflict and holds the state folded after the append.
      expect(a.states.cache.get(id)?.state).toEqual(fresh.state);
    });

    it('answers VersionConflict (409) once its attempts have run out, having appended nothing', async () => {
      const id = randomUUID();
      const random = jest.fn(() => 0);
      const a = processDeps(db.pool, { retry: { attempts: 3, random } });
      await run(a, id, start(id));
      const { deps, appends } = racing(a, processDeps(db.pool), id, 100);
      await expect(run(deps, id, say(null))).rejects.toBeInstanceOf(VersionConflict);
      expect([appends.tried, random.mock.calls.length]).toEqual([3, 2]);
      expect((await freshFold(store, id)).types).toHaveLength(4); // started and the other's three
    });

    it('with If-Match, answers StaleVersion (412) at once, without retrying', async () => {
      const id = randomUUID();
      const random = jest.fn(() => 0);
      const a = processDeps(db.pool, { retry: { random } });
      await run(a, id, start(id));
      const { deps, appends } = racing(a, processDeps(db.pool), id, 1);
      await expect(run(deps, id, say(null), { ifMatch: 1 })).rejects.toEqual(new StaleVersion(1, 2));
      expect([appends.tried, random.mock.calls.length]).toEqual([1, 0]);
    });
  });

  describe('with a cached state another process has moved past', () => {
    it('never appends what the stale state decided: the lineage the other ended stays ended', async () => {
      const id = randomUUID();
      const [a, b] = [processDeps(db.pool), processDeps(db.pool)];
      const ids = await abusiveThread(a, id);
      await run(b, id, modelEnd(ids[4]));
      await expect(run(a, id, say(ids[4]))).rejects.toMatchObject({ code: 'LINEAGE_ENDED' });
      expect((await freshFold(store, id)).types.at(-1)).toBe('ConversationEnded');
    });

    it('checks a refusal again on the stream: a reply to the message the other appended is taken', async () => {
      const id = randomUUID();
      const [a, b] = [processDeps(db.pool), processDeps(db.pool)];
      await run(a, id, start(id));
      const theirs = randomUUID();
      await run(b, id, say(null, 'user', theirs));
      // a's cache has never seen `theirs`: decided there, this is UNKNOWN_MESSAGE
      expect((await run(a, id, say(theirs, 'assistant'))).version).toBe(3);
    });
  });

  it('ends a lineage once when ends race in two processes; the other attempts are blocked or refused', async () => {
    const id = randomUUID();
    const [a, b] = [processDeps(db.pool), processDeps(db.pool)];
    const ids = await abusiveThread(a, id);
    const settled = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => run(i % 2 ? a : b, id, modelEnd(ids[4]))),
    );
    const types = settled.map((s) =>
      s.status === 'fulfilled' ? s.value.events[0].type : (s.reason as ConversationError).code,
    );
    expect(types.filter((t) => t === 'ConversationEnded')).toHaveLength(1);
    expect(
      types.filter((t) => t !== 'ConversationEnded' && t !== 'EndAttemptBlocked' && t !== 'LINEAGE_ENDED'),
    ).toEqual([]);
    const events = await store.readStream(streamIdOf(id));
    expect(events.filter((e) => e.type === 'ConversationEnded')).toHaveLength(1);
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
  });

  it("tells another tenant's start with If-Match that the conversation exists, never its version", async () => {
    const id = randomUUID();
    await run(processDeps(db.pool), id, start(id));
    await run(processDeps(db.pool), id, say(null));
    const stranger = { principal: { keyId: 'key-other', role: 'writer', tenantId: 'other', holder: null } };
    // a process that has not seen the conversation loads it: the refusal comes after the load
    for (const ifMatch of [0, 1, 2, undefined]) {
      const refused = await run(processDeps(db.pool), id, start(id), { ...stranger, ifMatch }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ConversationError);
      expect(refused).toMatchObject({ code: 'CONVERSATION_EXISTS', details: { conversationId: id } });
      expect(`${(refused as Error).message} ${JSON.stringify(refused)}`).not.toMatch(/version/i);
    }
    expect((await freshFold(store, id)).types).toHaveLength(2);
  });

  describe("the conversation's queue", () => {
    it('refuses a command past its bound at once (CONVERSATION_BUSY), appending nothing; frees the key', async () => {
      const id = randomUUID();
      const deps = processDeps(db.pool, { queuePerConversation: 2 });
      await run(deps, id, start(id));
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const gated = {
        ...deps,
        store: {
          ...deps.store,
          append: async (...args: Parameters<CommandStore['append']>) => (await gate, deps.store.append(...args)),
        },
      };
      const first = [run(gated, id, say(null)), run(gated, id, say(null))];
      await expect(run(gated, id, say(null))).rejects.toEqual(new ConversationBusy(id, 1));
      open();
      expect((await Promise.all(first)).map((o) => o.version)).toEqual([2, 3]);
      expect((await freshFold(store, id)).types).toHaveLength(3);
      expect(deps.queue.activeKeys).toBe(0);
    });

    it("refuses another tenant's commands before they queue: they never take the owner's places", async () => {
      const id = randomUUID();
      const deps = processDeps(db.pool, { queuePerConversation: 2 });
      await run(deps, id, start(id));
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const held = deps.queue.run(id, () => gate);
      const stranger = { principal: { keyId: 'key-other', role: 'writer', tenantId: 'other', holder: null } };
      for (let i = 0; i < 5; i++)
        await expect(run(deps, id, say(null), stranger)).rejects.toEqual(new ConversationNotFound(id));
      // The owner's command still finds its place behind the held one.
      const owners = run(deps, id, say(null));
      open();
      await held;
      expect((await owners).version).toBe(2);
      expect(deps.queue.activeKeys).toBe(0);
      // A process that has not seen the conversation: the first stranger's command loads it (one
      // place, then 404); from then on strangers are refused before they queue.
      const fresh = processDeps(db.pool, { queuePerConversation: 1 });
      await expect(run(fresh, id, say(null), stranger)).rejects.toEqual(new ConversationNotFound(id));
      let release!: () => void;
      const busy = fresh.queue.run(id, () => new Promise<void>((resolve) => (release = resolve)));
      await expect(run(fresh, id, say(null), stranger)).rejects.toEqual(new ConversationNotFound(id));
      release();
      await busy;
    });

    it('runs 200 concurrent commands on one conversation one by one: all appended, versions contiguous', async () => {
      const id = randomUUID();
      const deps = processDeps(db.pool);
      await run(deps, id, start(id), { principal: OPERATOR });
      const outcomes = await Promise.all(Array.from({ length: 200 }, () => run(deps, id, say(null))));
      expect(outcomes.map((o) => o.version).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 2),
      );
    });
  });

  /** Erases a conversation's content as a subject erasure does (its key destroyed, ContentErased appended). */
  async function erase(id: string): Promise<void> {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await eraseConversationInTransaction(
        client,
        id,
        {
          erasureId: randomUUID(),
          scope: 'subject',
          reason: 'test',
          actor: { type: 'operator', id: 'admin' },
          tenantId: 'acme',
        },
        new Date(),
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  describe('sealing', () => {
    const contentOf = async (id: string) =>
      (
        await db.pool.query<{ content: { kid: string } | string }>(
          `SELECT data->'content' AS content FROM es_events WHERE stream_id = $1 AND type = 'MessageAppended'
            ORDER BY stream_version`,
          [streamIdOf(id)],
        )
      ).rows.map((r) => r.content);

    it('given messages, then their content is stored sealed under one key of the conversation', async () => {
      const deps = processDeps(db.pool);
      const id = randomUUID();
      await run(deps, id, start(id));
      const first = (await run(deps, id, say(null))).events[0].data.messageId as string;
      await run(deps, id, say(first, 'assistant'));
      const stored = await contentOf(id);
      expect(stored).toEqual([
        expect.objectContaining({ enc: 'A256GCM' }),
        expect.objectContaining({ enc: 'A256GCM' }),
      ]);
      expect(new Set(stored.map((c) => (c as { kid: string }).kid)).size).toBe(1);
    });

    it('given its key erased in between (state and key cached), then the next append gets a new key', async () => {
      const deps = processDeps(db.pool);
      const id = randomUUID();
      await run(deps, id, start(id));
      const first = (await run(deps, id, say(null))).events[0].data.messageId as string;
      const [before] = (await contentOf(id)) as { kid: string }[];
      await erase(id);
      // The erasure's ContentErased moved the stream on: a conflict, the key forgotten, a new one made.
      await run(deps, id, say(first, 'assistant'));
      const [, after] = (await contentOf(id)) as { kid: string }[];
      expect(after.kid).not.toBe(before.kid);
      const keys = await db.pool.query<{ key_id: string; destroyed: boolean }>(
        'SELECT key_id, destroyed_at IS NOT NULL AS destroyed FROM content_keys WHERE conversation_id = $1',
        [id],
      );
      expect(Object.fromEntries(keys.rows.map((r) => [r.key_id, r.destroyed]))).toEqual({
        [before.kid]: true,
        [after.kid]: false,
      });
    });

    it('given an idempotent retry, then it is answered as before and nothing new is sealed', async () => {
      const deps = processDeps(db.pool);
      const id = randomUUID();
      await run(deps, id, start(id));
      const idempotency = { key: `k-${id}`, requestHash: 'h' };
      const a = await run(deps, id, say(null, 'user', randomUUID()), { idempotency });
      const b = await run(processDeps(db.pool), id, say(null, 'user', randomUUID()), { idempotency });
      expect(b.replayed).toBe(true);
      expect(b.events.map((e) => e.eventId)).toEqual(a.events.map((e) => e.eventId));
      expect(await contentOf(id)).toHaveLength(1);
    });
  });

  describe('idempotency records', () => {
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    const recordOf = async (key: string) =>
      (await db.pool.query<{ h: string }>('SELECT request_hash AS h FROM es_idempotency WHERE key = $1', [key])).rows[0]
        ?.h;
    const messages = async (id: string) =>
      (
        await db.pool.query(`SELECT 1 FROM es_events WHERE stream_id = $1 AND type = 'MessageAppended'`, [
          streamIdOf(id),
        ])
      ).rowCount;

    const kidOf = async (id: string) =>
      (
        await db.pool.query<{ kid: string }>(
          `SELECT data->'content'->>'kid' AS kid FROM es_events WHERE stream_id = $1 AND type = 'MessageAppended'
            ORDER BY stream_version LIMIT 1`,
          [streamIdOf(id)],
        )
      ).rows[0].kid;

    it('given a message under a key, then its record keeps the request hash keyed by the conversation', async () => {
      const deps = processDeps(db.pool);
      const [a, b] = [randomUUID(), randomUUID()];
      const requestHash = sha256('POST /v1/conversations/…/messages {"content":"yes"}');
      for (const id of [a, b]) {
        await run(deps, id, start(id));
        await run(deps, id, say(null), { idempotency: { key: `k-${id}`, requestHash } });
      }
      const [ra, rb] = [await recordOf(`k-${a}`), await recordOf(`k-${b}`)];
      expect(ra).toMatch(/^[0-9a-f]{64}$/);
      expect([ra === requestHash, rb === requestHash, ra === rb]).toEqual([false, false, false]);
      // another process, from the key's id alone, finds the same tag
      expect(await processDeps(db.pool).content.requestTagUnder(await kidOf(a), requestHash)).toBe(ra);
    });

    it('given a command that seals nothing under a key, then its record keeps the plain hash', async () => {
      const deps = processDeps(db.pool);
      const id = randomUUID();
      const requestHash = sha256('POST /v1/conversations');
      await run(deps, id, start(id), { idempotency: { key: `k-${id}`, requestHash } });
      expect(await recordOf(`k-${id}`)).toBe(requestHash);
    });

    it('given another request under the same key, then IdempotencyKeyReused and nothing appended', async () => {
      const deps = processDeps(db.pool);
      const id = randomUUID();
      await run(deps, id, start(id));
      await run(deps, id, say(null), { idempotency: { key: `k-${id}`, requestHash: sha256('one') } });
      await expect(
        run(processDeps(db.pool), id, say(null), { idempotency: { key: `k-${id}`, requestHash: sha256('two') } }),
      ).rejects.toBeInstanceOf(IdempotencyKeyReused);
      expect(await messages(id)).toBe(1);
    });

    it('given its conversation erased, then no guess matches; a retry is replayed, elsewhere refused', async () => {
      // a process holding the conversation's state and key in its caches, told of the destruction as by NOTIFY
      const keys = testContentKeys(db.pool);
      const deps = processDeps(db.pool, { content: contentSealer(keys) });
      const [id, other] = [randomUUID(), randomUUID()];
      await run(deps, id, start(id));
      await run(deps, other, start(other));
      const idempotency = { key: `k-${id}`, requestHash: sha256('{"content":"yes"}') };
      const first = await run(deps, id, say(null), { idempotency });
      const kid = await kidOf(id);
      await erase(id);
      keys.destroyed(kid);
      const stored = await recordOf(idempotency.key);
      // a guess of the text, hashed plainly, does not match; keyed, it cannot be made any more
      expect(stored).not.toBe(idempotency.requestHash);
      expect(await processDeps(db.pool).content.requestTagUnder(kid, idempotency.requestHash)).toBe('erased');
      for (const d of [deps, processDeps(db.pool)]) {
        const again = await run(d, id, say(null), { idempotency });
        expect([again.replayed, again.events.map((e) => e.eventId)]).toEqual([
          true,
          first.events.map((e) => e.eventId),
        ]);
      }
      // the record can no longer tell another body from a retry: the first answer, never a second append
      const otherBody = await run(deps, id, say(null), { idempotency: { ...idempotency, requestHash: sha256('no') } });
      expect([otherBody.replayed, otherBody.version]).toEqual([true, first.version]);
      expect(await messages(id)).toBe(1);
      await expect(run(deps, other, say(null), { idempotency })).rejects.toBeInstanceOf(IdempotencyKeyReused);
      expect(await messages(other)).toBe(0);
      // a key first used after the erasure still tells another request from a retry
      const later = { key: `k2-${id}`, requestHash: sha256('{"content":"later"}') };
      await run(deps, id, say(null), { idempotency: later });
      await expect(
        run(deps, id, say(null), { idempotency: { ...later, requestHash: sha256('{"content":"else"}') } }),
      ).rejects.toBeInstanceOf(IdempotencyKeyReused);
      expect(await messages(id)).toBe(2);
    });

    it('given a record of before request hashes were keyed (plain), then a retry is answered as before', async () => {
      const id = randomUUID();
      const deps = processDeps(db.pool);
      const before = processDeps(db.pool, {
        content: { ...testContentSealer(db.pool), requestTag: async (_sealed, requestHash) => requestHash },
      });
      await run(deps, id, start(id));
      const idempotency = { key: `k-${id}`, requestHash: sha256('{"content":"hello"}') };
      const first = await run(before, id, say(null), { idempotency });
      expect(await recordOf(idempotency.key)).toBe(idempotency.requestHash);
      const again = await run(deps, id, say(null), { idempotency });
      expect([again.replayed, again.events.map((e) => e.eventId)]).toEqual([true, first.events.map((e) => e.eventId)]);
      await expect(
        run(deps, id, say(null), { idempotency: { ...idempotency, requestHash: sha256('other') } }),
      ).rejects.toBeInstanceOf(IdempotencyKeyReused);
      expect(await messages(id)).toBe(1);
    });
  });
});
