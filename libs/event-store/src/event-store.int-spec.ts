import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { createTestDatabase, TestDatabase } from '@app/testing';
import {
  APPEND_CHANNEL,
  canonicalBody,
  IdempotencyKeyReused,
  InvalidEvent,
  NewEvent,
  PostgresEventStore,
  StoredEvent,
  VersionConflict,
} from '@app/event-store';

const AT = '2026-01-02T03:04:05.678Z';
const event = (type = 'Happened', data: Record<string, unknown> = { n: 1 }): NewEvent => ({
  eventId: randomUUID(),
  type,
  data,
  metadata: { actor: { type: 'user', id: 'u-1' }, tenantId: 't-1' },
  occurredAt: AT,
});

describe(PostgresEventStore.name, () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(() => db.drop());

  async function readEverything(): Promise<StoredEvent[]> {
    const all: StoredEvent[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await store.readAll({ after, limit: 7 });
      if (page.events.length === 0) return all;
      all.push(...page.events);
      after = page.nextPosition;
    }
  }

  describe('append', () => {
    it('numbers events from 1 and chains their hashes', async () => {
      const id = `s-${randomUUID()}`;
      const first = await store.append(id, [event('A'), event('B')], { expectedVersion: 'no_stream' });
      const second = await store.append(id, [event('C', { text: 'é ☃ 😀', nested: { z: 1, a: [1.5, null] } })], {
        expectedVersion: 2,
      });
      expect([first.firstVersion, first.lastVersion, second.lastVersion]).toEqual([1, 2, 3]);
      const events = await store.readStream(id);
      expect(events.map((e) => [e.version, e.type])).toEqual([
        [1, 'A'],
        [2, 'B'],
        [3, 'C'],
      ]);
      expect(events[0].prevHash).toBe('0'.repeat(64));
      expect(events[1].prevHash).toBe(events[0].hash);
      expect(events[2].data).toEqual({ text: 'é ☃ 😀', nested: { z: 1, a: [1.5, null] } });
      expect(await store.verifyStream(id)).toEqual({ valid: true, count: 3 });
    });

    it('records the database time of the commit, not a time the caller sends', async () => {
      const id = `s-${randomUUID()}`;
      const clock = async () => (await db.pool.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0].t.getTime();
      const before = await clock();
      // No field of NewEvent sets it: a recordedAt slipped in beside them is not sent.
      await store.append(id, [{ ...event(), recordedAt: '1999-01-01T00:00:00Z' } as NewEvent], {
        expectedVersion: 'any',
      });
      const after = await clock();
      const [e] = await store.readStream(id);
      expect(e.occurredAt).toBe(AT);
      expect(Date.parse(e.recordedAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(e.recordedAt)).toBeLessThanOrEqual(after);
    });

    it('stamps recorded_at and transaction_id itself, even on a row the owner inserts with others', async () => {
      const c = await db.pool.connect();
      try {
        await c.query('BEGIN');
        const { rows } = await c.query<{ stamped: boolean; own_transaction: boolean }>(
          `INSERT INTO es_events (transaction_id, stream_id, stream_version, event_id, type, data, metadata,
                                  occurred_at, recorded_at, prev_hash, hash)
           VALUES ('1'::xid8, $1, 1, $2, 'Forged', '{}', '{}',
                   $3, '1999-01-01T00:00:00Z', repeat('0', 64), repeat('0', 64))
           RETURNING recorded_at = now() AS stamped, transaction_id = pg_current_xact_id() AS own_transaction`,
          [`s-${randomUUID()}`, randomUUID(), AT],
        );
        expect(rows).toEqual([{ stamped: true, own_transaction: true }]);
      } finally {
        await c.query('ROLLBACK');
        c.release();
      }
    });

    it('refuses a wrong expected version with a typed VersionConflict and appends nothing', async () => {
      const id = `s-${randomUUID()}`;
      await store.append(id, [event()], { expectedVersion: 'no_stream' });
      await expect(store.append(id, [event()], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(
        VersionConflict,
      );
      await expect(store.append(id, [event()], { expectedVersion: 5 })).rejects.toMatchObject({ actual: 1 });
      await expect(
        store.append(`s-${randomUUID()}`, [event()], { expectedVersion: 'stream_exists' }),
      ).rejects.toBeInstanceOf(VersionConflict);
      expect(await store.streamVersion(id)).toBe(1);
    });

    it('refuses a NUL character in data before it reaches the database', async () => {
      await expect(
        store.append(`s-${randomUUID()}`, [event('A', { text: 'a\u0000b' })], { expectedVersion: 'any' }),
      ).rejects.toBeInstanceOf(InvalidEvent);
    });

    it('keeps text that spells an escape: a backslash, then "u0000" or "ud800", is no NUL or surrogate', async () => {
      const id = `s-${randomUUID()}`;
      const data = { text: 'write \\u0000 for NUL and \\ud800 for a lone surrogate', ['key \\u0000']: 1 };
      await store.append(id, [event('A', data)], { expectedVersion: 'no_stream' });
      const [stored] = await store.readStream(id);
      expect(stored.data).toEqual(data);
      expect(await store.verifyStream(id)).toMatchObject({ valid: true, count: 1 });
    });

    it('refuses an eventId that is not a UUID before it reaches the database, and creates nothing', async () => {
      const id = `s-${randomUUID()}`;
      await expect(
        store.append(id, [{ ...event(), eventId: 'not-a-uuid' }], { expectedVersion: 'any' }),
      ).rejects.toBeInstanceOf(InvalidEvent);
      expect(await store.streamVersion(id)).toBe(0);
    });

    it('has no superseded append function left: only es_append_bodies and es_append_batch_bodies append', async () => {
      const { rows } = await db.pool.query<{ proname: string }>(
        `SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ` +
          `AND proname LIKE 'es\\_append%' ORDER BY proname`,
      );
      expect(rows.map((r) => r.proname)).toEqual(['es_append_batch_bodies', 'es_append_bodies']);
    });

    it('stores the data it hashed: the canonical body sent is what the columns hold', async () => {
      const id = `s-${randomUUID()}`;
      const data = {
        z: 1,
        a: [1.5, 1e21, -0, 0.1],
        é: 'line\nbreak \u2028 "quoted" \\ tab\t',
        nested: { b: null, a: true },
        skip: undefined,
      };
      await store.append(id, [event('Tricky', data)], { expectedVersion: 'no_stream' });
      const [stored] = await store.readStream(id);
      expect(stored.data).toEqual(JSON.parse(JSON.stringify(data)));
      expect(await store.verifyStream(id)).toMatchObject({ valid: true, count: 1 });
    });

    it('refuses a lone UTF-16 surrogate, which jsonb cannot keep, as invalid', async () => {
      await expect(
        store.append(`s-${randomUUID()}`, [event('A', { text: 'a\ud800b' })], { expectedVersion: 'any' }),
      ).rejects.toBeInstanceOf(InvalidEvent);
      const pair = await store.append(`s-${randomUUID()}`, [event('A', { text: '\ud83d\ude00' })], {
        expectedVersion: 'any',
      });
      expect(pair.lastVersion).toBe(1);
    });

    it('gives exactly one of 50 concurrent appends at the same expected version', async () => {
      const id = `s-${randomUUID()}`;
      await store.append(id, [event()], { expectedVersion: 'no_stream' });
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => store.append(id, [event()], { expectedVersion: 1 })),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof VersionConflict);
      expect([ok.length, conflicts.length]).toEqual([1, 49]);
      expect(await store.streamVersion(id)).toBe(2);
    });

    it('lands every one of 50 concurrent appends with any version, contiguously', async () => {
      const id = `s-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.append(id, [event()], { expectedVersion: 'any' })),
      );
      expect(results.map((r) => r.lastVersion).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      const events = await store.readStream(id);
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await store.verifyStream(id)).valid).toBe(true);
    });
  });

  describe('idempotency', () => {
    const idem = (key: string, requestHash = 'a'.repeat(64)) => ({ scope: 't-1:POST /x', key, requestHash });

    it('replays the first result after the store is re-created and appends nothing', async () => {
      const id = `s-${randomUUID()}`;
      const key = randomUUID();
      const first = await store.append(id, [event()], { expectedVersion: 'any', idempotency: idem(key) });
      const otherPool = new Pool({ connectionString: db.url });
      try {
        const again = await new PostgresEventStore(otherPool).append(id, [event()], {
          expectedVersion: 'any',
          idempotency: idem(key),
        });
        expect(again).toEqual({ ...first, replayed: true });
        expect(await store.streamVersion(id)).toBe(1);
      } finally {
        await otherPool.end();
      }
    });

    it('refuses the same key with another request', async () => {
      const id = `s-${randomUUID()}`;
      const key = randomUUID();
      await store.append(id, [event()], { expectedVersion: 'any', idempotency: idem(key) });
      await expect(
        store.append(id, [event()], { expectedVersion: 'any', idempotency: idem(key, 'b'.repeat(64)) }),
      ).rejects.toBeInstanceOf(IdempotencyKeyReused);
      expect(await store.streamVersion(id)).toBe(1);
    });

    it('appends once when the same key arrives 10 times at once', async () => {
      const id = `s-${randomUUID()}`;
      const key = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.append(id, [event()], { expectedVersion: 'any', idempotency: idem(key) }),
        ),
      );
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.eventIds[0])).size).toBe(1);
      expect(await store.streamVersion(id)).toBe(1);
    });

    it('keeps no key when the append fails, so a corrected retry can use it', async () => {
      const id = `s-${randomUUID()}`;
      const key = randomUUID();
      await expect(store.append(id, [event()], { expectedVersion: 3, idempotency: idem(key) })).rejects.toBeInstanceOf(
        VersionConflict,
      );
      expect(await store.findIdempotentResult('t-1:POST /x', key)).toBeNull();
      const ok = await store.append(id, [event()], { expectedVersion: 'no_stream', idempotency: idem(key) });
      expect(ok.replayed).toBe(false);
    });
  });

  describe('readAll', () => {
    it('returns a late commit exactly once and never skips it', async () => {
      const seen = await readEverything();
      const early = await db.pool.connect();
      const late = await db.pool.connect();
      const lateId = randomUUID();
      try {
        // The late transaction takes its position first, then commits after a later one.
        await late.query('BEGIN');
        const lateStream = `s-${randomUUID()}`;
        const body = canonicalBody({ streamId: lateStream, type: 'Late', data: {}, metadata: {}, occurredAt: AT });
        await late.query(`SELECT es_append_bodies($1, -1, $2, $3, NULL, NULL, NULL)`, [lateStream, [lateId], body]);
        const laterResult = await store.append(`s-${randomUUID()}`, [event('Later')], { expectedVersion: 'any' });
        const whileOpen = await readEverything();
        const rangeWhileOpen = await store.readAllRange({ after: seen.at(-1)?.position ?? null, limit: 1000 });
        expect(rangeWhileOpen?.through ?? null).toBe(
          whileOpen.length > seen.length ? whileOpen.at(-1)!.position : null,
        );
        // From the end of what is visible: nothing yet, and the later event said to be waiting;
        // from before it, the range up to it, the later event said to wait after it.
        const end = whileOpen.at(-1)!.position;
        expect(await store.nextRange({ after: end })).toEqual({ range: null, heldBack: true });
        const before = whileOpen.at(-2)!.position;
        expect(await store.nextRange({ after: before })).toEqual({
          range: { after: before, through: end, count: 1 },
          heldBack: true,
        });
        // A full page is not looked past (its reader reads on).
        expect(await store.nextRange({ after: before, limit: 1 })).toEqual({
          range: { after: before, through: end, count: 1 },
          heldBack: false,
        });
        // Nothing after the open transaction is handed out while it is open: handing out the
        // later event would move readers past the late one's place in commit order.
        const handedOut = whileOpen.slice(seen.length).map((e) => e.eventId);
        expect(handedOut).not.toContain(lateId);
        expect(handedOut).not.toContain(laterResult.eventIds[0]);
        await late.query('COMMIT');
        // Readable once every older transaction on the server has ended, other databases' too
        // (test runs alongside, the service's background appends): wait for that, then count.
        let after = await readEverything();
        for (let i = 0; i < 400 && !after.some((e) => e.eventId === laterResult.eventIds[0]); i++) {
          await new Promise((r) => setTimeout(r, 25));
          after = await readEverything();
        }
        const ids = after.map((e) => e.eventId);
        expect(ids.filter((x) => x === lateId)).toHaveLength(1);
        expect(ids.filter((x) => x === laterResult.eventIds[0])).toHaveLength(1);
        // Reading on from where the open-transaction read stopped also finds it.
        const resumed = await store.readAll({ after: whileOpen.at(-1)?.position ?? null, limit: 1000 });
        expect(resumed.events.map((e) => e.eventId)).toContain(lateId);
      } finally {
        await late.query('ROLLBACK').catch(() => undefined);
        late.release();
        early.release();
      }
    });

    it('gives the range of the page readAll would return, without its events', async () => {
      await Promise.all(
        Array.from({ length: 3 }, () =>
          store.append(`s-${randomUUID()}`, [event('A'), event('B'), event('C'), event('D'), event('E')], {
            expectedVersion: 'no_stream',
          }),
        ),
      );
      const all = await readEverything();
      const from = all.at(-13)!.position;
      const page = await store.readAll({ after: from, limit: 11 });
      expect(await store.readAllRange({ after: from, limit: 11 })).toEqual({
        after: from,
        through: page.nextPosition,
        count: 11,
      });
      expect(await store.readAllRange({ after: from, limit: 1000 })).toEqual({
        after: from,
        through: all.at(-1)!.position,
        count: 12,
      });
      expect(await store.readAllRange({ after: all.at(-1)!.position })).toBeNull();
      expect(await store.nextRange({ after: from, limit: 11 })).toEqual({
        range: { after: from, through: page.nextPosition, count: 11 },
        heldBack: false,
      });
      expect((await store.readAllRange({ limit: 1 }))?.through).toBe(all[0].position);
    });

    it('notifies APPEND_CHANNEL when an append commits, so readers need not wait for a poll', async () => {
      const listener = new Client({ connectionString: db.runtimeUrl });
      await listener.connect();
      try {
        await listener.query(`LISTEN ${APPEND_CHANNEL}`);
        const heard = new Promise((resolve) => listener.once('notification', (n) => resolve(n.channel)));
        await store.append(`s-${randomUUID()}`, [event('Woken')], { expectedVersion: 'any' });
        await expect(heard).resolves.toBe(APPEND_CHANNEL);
      } finally {
        await listener.end();
      }
    });
  });

  describe('integrity', () => {
    it.each(['UPDATE es_events SET type = type', 'DELETE FROM es_events', 'TRUNCATE es_events'])(
      'refuses %s, even for a superuser in replica mode',
      async (sql) => {
        await store.append(`s-${randomUUID()}`, [event()], { expectedVersion: 'any' });
        const c = await db.pool.connect();
        try {
          await expect(c.query(sql)).rejects.toThrow(/append-only/);
          await c.query('SET session_replication_role = replica');
          await expect(c.query(sql)).rejects.toThrow(/append-only/);
        } finally {
          await c.query('RESET session_replication_role');
          c.release();
        }
      },
    );

    it('names the exact version of a tampered row', async () => {
      const id = `s-${randomUUID()}`;
      await store.append(id, [event(), event(), event(), event()], { expectedVersion: 'no_stream' });
      await db.pool.query('ALTER TABLE es_events DISABLE TRIGGER es_events_no_update');
      try {
        await db.pool.query(`UPDATE es_events SET data = '{"n": 2}' WHERE stream_id = $1 AND stream_version = 3`, [id]);
      } finally {
        await db.pool.query('ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update');
      }
      expect(await store.verifyStream(id)).toMatchObject({ valid: false, brokenAtVersion: 3 });
    });

    it('notices events cut from the end of a stream, and a stream whose head is gone', async () => {
      const cut = `s-${randomUUID()}`;
      const headless = `s-${randomUUID()}`;
      await store.append(cut, [event(), event(), event()], { expectedVersion: 'no_stream' });
      await store.append(headless, [event()], { expectedVersion: 'no_stream' });
      await db.pool.query('ALTER TABLE es_events DISABLE TRIGGER es_events_no_update');
      try {
        await db.pool.query('DELETE FROM es_events WHERE stream_id = $1 AND stream_version = 3', [cut]);
      } finally {
        await db.pool.query('ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update');
      }
      await db.pool.query('DELETE FROM es_streams WHERE stream_id = $1', [headless]);
      expect(await store.verifyStream(cut)).toMatchObject({ valid: false, brokenAtVersion: 3 });
      expect(await store.verifyStream(headless)).toMatchObject({ valid: false, brokenAtVersion: 1 });
      const listed: string[] = [];
      for (
        let page = await store.listStreams(null, 1000);
        page.length;
        page = await store.listStreams(page.at(-1)!, 1000)
      ) {
        listed.push(...page);
      }
      expect(listed).toContain(headless);
    });
  });
});
