import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { openText, sealText } from './content-cipher';
import { CONTENT_KEYS_DESTROYED_CHANNEL, ContentKeys, destroyContentKeys } from './content-keys';
import { ConfigError } from '@app/platform';
import { assertMasterKeysHeld, LocalMasterKey, masterKeyRing, MasterKeyError } from './master-key';

/** The key store as the runtime uses it: made once per conversation, destroyed for good. */
describe('content keys', () => {
  let db: TestDatabase;
  let runtime: Pool;
  const master = new LocalMasterKey(randomBytes(32));
  const ring = masterKeyRing(master);
  const owner = () => ({ conversationId: randomUUID(), tenantId: 't1', subjectId: `s-${randomUUID()}` });

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 8 });
  });
  afterAll(async () => {
    await runtime.end();
    await db.drop();
  });

  it('given many processes asking at once for a new conversation, then it gets exactly one live key', async () => {
    const o = owner();
    const stores = Array.from({ length: 8 }, () => new ContentKeys(runtime, ring));
    const keys = await Promise.all(stores.map((s) => s.liveKey(o)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(new Set(keys.map((k) => k.key.toString('hex'))).size).toBe(1);
    const { rows } = await runtime.query('SELECT count(*)::int AS n FROM content_keys WHERE conversation_id = $1', [
      o.conversationId,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('given a key likely new, when asked for, then it is made first; one that exists is found', async () => {
    const count = async (conversationId: string) =>
      (
        await runtime.query<{ live: number; all: number }>(
          `SELECT count(*) FILTER (WHERE destroyed_at IS NULL)::int AS live, count(*)::int AS all
             FROM content_keys WHERE conversation_id = $1`,
          [conversationId],
        )
      ).rows[0];
    // none yet: made by the insert, one round trip (two without the hint: a look, then the insert)
    const queries: string[] = [];
    const counted = {
      query: (text: string, values?: unknown[]) => (queries.push(text), runtime.query(text, values)),
    } as unknown as Pool;
    const fresh = owner();
    const made = await new ContentKeys(counted, ring).liveKey({ ...fresh, keyLikelyNew: true });
    expect(queries).toEqual([expect.stringMatching(/^\s*INSERT INTO content_keys/)]);
    expect(await count(fresh.conversationId)).toEqual({ live: 1, all: 1 });
    queries.length = 0;
    await new ContentKeys(counted, ring).liveKey(owner());
    expect(queries).toEqual([expect.stringMatching(/^\s*SELECT/), expect.stringMatching(/^\s*INSERT/)]);
    // another process made it (or an earlier attempt whose append failed): the insert conflicts, the key is read
    const again = await new ContentKeys(runtime, ring).liveKey({ ...fresh, keyLikelyNew: true });
    expect(again.kid).toBe(made.kid);
    expect(again.key.equals(made.key)).toBe(true);
    expect(await count(fresh.conversationId)).toEqual({ live: 1, all: 1 });
    // many processes at once, all told it is likely new: still exactly one
    const racing = owner();
    const keys = await Promise.all(
      Array.from({ length: 8 }, () => new ContentKeys(runtime, ring).liveKey({ ...racing, keyLikelyNew: true })),
    );
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(await count(racing.conversationId)).toEqual({ live: 1, all: 1 });
    // its key destroyed: a new live one, as without the hint
    const c = await runtime.connect();
    try {
      await c.query('BEGIN');
      await destroyContentKeys(c, [racing.conversationId], randomUUID());
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    const next = await new ContentKeys(runtime, ring).liveKey({ ...racing, keyLikelyNew: true });
    expect(next.kid).not.toBe(keys[0].kid);
    expect(await count(racing.conversationId)).toEqual({ live: 1, all: 2 });
  });

  describe('given conversations whose keys are made at the same time', () => {
    /** The runtime pool, counting the INSERTs of key rows (their row counts); INSERT number `failing` fails. */
    function countingPool(failing?: number) {
      const inserts: number[] = [];
      const pool = {
        query: (text: string, values?: unknown[][]) => {
          if (!/^\s*INSERT INTO content_keys/.test(text)) return runtime.query(text, values);
          inserts.push(values?.[0].length ?? 0);
          if (inserts.length === failing) return Promise.reject(new Error('connection lost'));
          return runtime.query(text, values);
        },
      } as unknown as Pool;
      return { pool, inserts };
    }
    const fresh = () => ({ ...owner(), keyLikelyNew: true });

    it('then those made while one INSERT is under way are written together by the next, each its own', async () => {
      const { pool, inserts } = countingPool();
      const keys = new ContentKeys(pool, ring);
      const owners = Array.from({ length: 20 }, fresh);
      const made = await Promise.all(owners.map((o) => keys.liveKey(o)));
      // the first at once, the other 19 in one statement behind it
      expect(inserts).toEqual([1, 19]);
      expect(new Set(made.map((k) => k.kid)).size).toBe(20);
      // another process reads each one back under its own conversation: the right key, unwrapped
      const elsewhere = new ContentKeys(runtime, ring);
      for (const [i, o] of owners.entries()) {
        const read = await elsewhere.liveKey({
          conversationId: o.conversationId,
          tenantId: 't1',
          subjectId: o.subjectId,
        });
        expect([read.kid, read.key.equals(made[i].key)]).toEqual([made[i].kid, true]);
      }
      const { rows } = await runtime.query<{ n: number }>(
        'SELECT count(DISTINCT conversation_id)::int AS n FROM content_keys WHERE key_id = ANY($1::uuid[])',
        [made.map((k) => k.kid)],
      );
      expect(rows[0].n).toBe(20);
    });

    it('then one conversation twice in one INSERT gets one key, and both callers get it', async () => {
      const { pool, inserts } = countingPool();
      const keys = new ContentKeys(pool, ring);
      const twice = fresh();
      const [, a, b] = await Promise.all([keys.liveKey(fresh()), keys.liveKey(twice), keys.liveKey({ ...twice })]);
      expect(inserts).toEqual([1, 2]);
      expect([a.kid === b.kid, a.key.equals(b.key)]).toEqual([true, true]);
      const { rows } = await runtime.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM content_keys WHERE conversation_id = $1',
        [twice.conversationId],
      );
      expect(rows[0].n).toBe(1);
    });

    it('then a failed INSERT fails its makes, keeps none of their keys, and the next attempt makes them', async () => {
      const { pool, inserts } = countingPool(2); // the second: the three made while the first was under way
      const keys = new ContentKeys(pool, ring);
      const together = [fresh(), fresh(), fresh()];
      const firstKey = keys.liveKey(fresh());
      const settled = await Promise.allSettled(together.map((o) => keys.liveKey(o)));
      await firstKey;
      expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(inserts).toEqual([1, 3]);
      const { rows } = await runtime.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM content_keys WHERE conversation_id = ANY($1::uuid[])',
        [together.map((o) => o.conversationId)],
      );
      expect(rows[0].n).toBe(0);
      expect(together.map((o) => keys.knownLiveKey(o))).toEqual([undefined, undefined, undefined]);
      const again = await Promise.all(together.map((o) => keys.liveKey(o)));
      expect(new Set(again.map((k) => k.kid)).size).toBe(3);
    });
  });

  it('given a key stored wrapped, then the database holds no byte of the data key in clear', async () => {
    const o = owner();
    const key = await new ContentKeys(runtime, ring).liveKey(o);
    const { rows } = await runtime.query<{ wrapped_key: Buffer }>(
      'SELECT wrapped_key FROM content_keys WHERE key_id = $1',
      [key.kid],
    );
    expect(rows[0].wrapped_key.includes(key.key)).toBe(false);
    expect(rows[0].wrapped_key.includes(key.key.subarray(0, 8))).toBe(false);
  });

  it('given a destroyed key, every process reads it destroyed and the conversation gets a new key', async () => {
    const o = owner();
    const writer = new ContentKeys(runtime, ring);
    const key = await writer.liveKey(o);
    const envelope = sealText(key, 'e1', 'content', 'hello');
    const listener = new Client({ connectionString: db.runtimeUrl });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${CONTENT_KEYS_DESTROYED_CHANNEL}`);

    const c = await runtime.connect();
    try {
      await c.query('BEGIN');
      expect(await destroyContentKeys(c, [o.conversationId.toUpperCase()], randomUUID())).toEqual([key.kid]);
      expect(heard).toEqual([]); // not before commit
      await c.query('COMMIT');
    } finally {
      c.release();
    }
    for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await listener.end();
    expect(heard).toEqual([key.kid]);

    const reader = new ContentKeys(runtime, ring);
    expect((await reader.lookup(key.kid))?.state).toBe('destroyed');
    writer.destroyed(key.kid);
    expect((await writer.lookup(key.kid))?.state).toBe('destroyed');
    const next = await writer.liveKey(o);
    expect(next.kid).not.toBe(key.kid);
    expect(() => openText(next, 'e1', 'content', envelope)).toThrow();
  });

  it('given a destroyed key, neither runtime nor owner can bring it back or change whose it is', async () => {
    const o = owner();
    const key = await new ContentKeys(runtime, ring).liveKey(o);
    const other = owner();
    const otherKey = await new ContentKeys(runtime, ring).liveKey(other);
    for (const pool of [runtime, db.pool]) {
      await expect(
        pool.query('UPDATE content_keys SET conversation_id = $2 WHERE key_id = $1', [otherKey.kid, randomUUID()]),
      ).rejects.toThrow(/only its wrapping or its destruction may change/);
    }
    await destroyContentKeys(runtime, [o.conversationId], randomUUID());
    for (const pool of [runtime, db.pool]) {
      await expect(
        pool.query(
          `UPDATE content_keys SET wrapped_key = '\\x00', master_key_id = 'x', destroyed_at = NULL,
                    erasure_id = NULL WHERE key_id = $1`,
          [key.kid],
        ),
      ).rejects.toThrow(/a destruction is final/);
    }
    await expect(runtime.query('DELETE FROM content_keys WHERE key_id = $1', [key.kid])).rejects.toThrow(
      /permission denied/,
    );
  });

  it('given a key destroyed elsewhere, cached here, named retired by the stream, then it is not used', async () => {
    const o = owner();
    const here = new ContentKeys(runtime, ring, { hearsDestructions: () => true });
    const key = await here.liveKey(o);
    // destroyed by another process: this one has not heard the NOTIFY (nobody tells it here)
    await destroyContentKeys(runtime, [o.conversationId], randomUUID());
    expect((await here.liveKey(o)).kid).toBe(key.kid); // what the cache alone would do
    const next = await here.liveKey({ ...o, retiredKeyIds: [key.kid] });
    expect(next.kid).not.toBe(key.kid);
    expect((await here.lookup(key.kid))?.state).toBe('destroyed');
  });

  /**
   * A connection whose first `count` answers arrive only when released (after the test has changed
   * the database meanwhile); `readDone` once the first query has been answered by the server.
   */
  function slowAnswers(count: number) {
    let release!: () => void;
    const gate = new Promise<void>((done) => (release = done));
    let read!: () => void;
    const readDone = new Promise<void>((done) => (read = done));
    let slowLeft = count;
    const slow = {
      query: async (text: string, values?: unknown[]) => {
        const result = await runtime.query(text, values);
        if (slowLeft-- > 0) {
          read();
          await gate;
        }
        return result;
      },
    } as unknown as Pool;
    return { slow, readDone, release };
  }

  it('given a destruction heard while the key was being read, then the stale live row never wins', async () => {
    const o = owner();
    const key = await new ContentKeys(runtime, ring).liveKey(o);
    // a reader whose SELECT answers (the key live) but whose answer arrives after the destruction
    const { slow, readDone, release } = slowAnswers(Infinity);
    const reader = new ContentKeys(slow, ring, { hearsDestructions: () => true });
    const pending = Promise.all([reader.lookup(key.kid), reader.lookupMany([key.kid])]);
    await readDone;
    await destroyContentKeys(runtime, [o.conversationId], randomUUID());
    reader.destroyed(key.kid); // its NOTIFY
    release();
    const [one, many] = await pending;
    expect(one?.state).toBe('destroyed');
    expect(many.get(key.kid)?.state).toBe('destroyed');
    expect((await reader.lookup(key.kid))?.state).toBe('destroyed');
  });

  it('given the listener resumed (cache cleared) while a key was being read, then that read is not kept', async () => {
    const o = owner();
    const key = await new ContentKeys(runtime, ring).liveKey(o);
    const { slow, readDone, release } = slowAnswers(1);
    const reader = new ContentKeys(slow, ring, { hearsDestructions: () => true });
    const pending = reader.lookup(key.kid);
    await readDone; // its row read live
    // destroyed while the listener was down (its NOTIFY never heard); the listener resumes: clear()
    await destroyContentKeys(runtime, [o.conversationId], randomUUID());
    reader.clear();
    release();
    expect((await pending)?.state).toBe('live'); // the answer of a read begun before, as any such read
    // not cached: the next reads go to the database and find it destroyed
    expect((await reader.lookup(key.kid))?.state).toBe('destroyed');
    expect(reader.knownLiveKey(o)).toBeUndefined();
  });

  it('given a key wrapped by a master key this process does not hold, then it says which one is missing', async () => {
    const o = owner();
    await new ContentKeys(runtime, ring).liveKey(o);
    const stranger = new ContentKeys(runtime, masterKeyRing(new LocalMasterKey(randomBytes(32))));
    await expect(stranger.liveKey(o)).rejects.toThrow(MasterKeyError);
    await expect(stranger.liveKey(o)).rejects.toThrow(master.id);
  });

  it('given live keys of a master key the ring lacks, then the start is refused naming the variable', async () => {
    await new ContentKeys(runtime, ring).liveKey(owner());
    const rotatedAlone = masterKeyRing(new LocalMasterKey(randomBytes(32)));
    await expect(assertMasterKeysHeld(runtime, rotatedAlone)).rejects.toThrow(ConfigError);
    await expect(assertMasterKeysHeld(runtime, rotatedAlone)).rejects.toThrow(
      new RegExp(`CONTENT_KEY_PREVIOUS_FILES.*${master.id}`),
    );
    await expect(assertMasterKeysHeld(runtime, masterKeyRing(rotatedAlone.current, [master]))).resolves.toBeUndefined();
  });

  it('given an older master key in the ring, then keys it wrapped still open', async () => {
    const o = owner();
    const key = await new ContentKeys(runtime, ring).liveKey(o);
    const rotated = new ContentKeys(runtime, masterKeyRing(new LocalMasterKey(randomBytes(32)), [master]));
    const found = await rotated.lookup(key.kid);
    expect(found?.state === 'live' && found.key.key.equals(key.key)).toBe(true);
  });
});
