import { Pool } from 'pg';
import { AppendOptions, InvalidEvent, NewEvent, PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { AccessLogWriter, AccessLogStore } from './access-log-writer';
import { AccessEntry, accessStreamId } from './content-accessed';

const KEY = '00000000-0000-4000-8000-00000000000a';

const entry = (tenantId: string, requestId: string, conversationIds: string[] = []): AccessEntry => ({
  at: '2026-12-05T10:00:00.000Z',
  keyId: KEY,
  role: 'auditor',
  tenantId,
  route: '/v1/events',
  conversationIds,
  filter: { limit: '10' },
  requestId,
});

/** The store itself, but refusing appends while `down`, or storing and then losing the answer. */
class FaultyStore implements AccessLogStore {
  down = false;
  loseAnswers = false;
  /** Stores, then answers with an error that looks lasting (as a duplicate eventId would). */
  refuseAfterStoring = false;
  appends = 0;
  lookups = 0;
  constructor(private readonly store: PostgresEventStore) {}
  async append(streamId: string, events: NewEvent[], options: AppendOptions) {
    this.appends++;
    if (this.down) throw new Error('connection refused (test)');
    const result = await this.store.append(streamId, events, options);
    if (this.loseAnswers) throw new Error('connection reset after commit (test)');
    if (this.refuseAfterStoring) throw new InvalidEvent('refused after commit (test)');
    return result;
  }
  readByEventIds(ids: string[]) {
    this.lookups++;
    if (this.down) return Promise.reject(new Error('connection refused (test)'));
    return this.store.readByEventIds(ids);
  }
}

describe(AccessLogWriter.name, () => {
  let db: TestDatabase;
  let runtime: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    // As the service runs: the runtime login may append access entries through the store.
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 4 });
    store = new PostgresEventStore(runtime);
  });
  afterAll(async () => {
    await store.close();
    await runtime.end();
    await db.drop();
  });

  const stored = async (requestIdPrefix: string) =>
    (
      await db.pool.query<{ stream_id: string; request_id: string; tenant_id: string }>(
        `SELECT stream_id, data->>'requestId' AS request_id, data->>'tenantId' AS tenant_id FROM es_events
          WHERE stream_id LIKE 'access-%' AND data->>'requestId' LIKE $1 || '%' ORDER BY position`,
        [requestIdPrefix],
      )
    ).rows;

  it('appends each tenant’s entries to one of its shards, in order, hash-chained', async () => {
    const writer = new AccessLogWriter(store, { capacity: 100, flushIntervalMs: 1000, shards: 4 });
    expect(writer.offer([entry('Tenant-A', 'g-1', ['00000000-0000-4000-8000-000000000001']), entry('b', 'g-2')])).toBe(
      true,
    );
    expect(writer.offer([entry('tenant-a', 'g-3'), entry('*', 'g-4')])).toBe(true);
    expect(await writer.flush()).toBe(0);
    const rows = await stored('g-');
    expect(rows.map((r) => r.request_id).sort()).toEqual(['g-1', 'g-2', 'g-3', 'g-4']);
    const streamOf = (id: string) => rows.find((r) => r.request_id === id)!.stream_id;
    // Tenant ids keep their case in the entry; the stream id is lower case.
    expect(rows.find((r) => r.request_id === 'g-1')!.tenant_id).toBe('Tenant-A');
    expect(streamOf('g-1')).toMatch(/^access-tenant-a-[0-3]$/);
    expect(streamOf('g-3')).toBe(streamOf('g-1'));
    expect(streamOf('g-2')).toMatch(/^access-b-[0-3]$/);
    expect(streamOf('g-4')).toMatch(/^access-\*-[0-3]$/);
    for (const streamId of new Set(rows.map((r) => r.stream_id))) {
      expect(await store.verifyStream(streamId)).toMatchObject({ valid: true });
    }
  });

  it('takes entries only while they fit, all of a read or none', async () => {
    const writer = new AccessLogWriter(store, { capacity: 3, flushIntervalMs: 1000, shards: 1 });
    expect(writer.offer([entry('a', 'c-1'), entry('b', 'c-2')])).toBe(true);
    expect(writer.offer([entry('a', 'c-3'), entry('b', 'c-4')])).toBe(false);
    expect(writer.held).toBe(2);
    expect(writer.hasRoom(1)).toBe(true);
    expect(writer.hasRoom(2)).toBe(false);
    await writer.flush();
    expect(writer.held).toBe(0);
    expect(writer.offer([entry('a', 'c-3'), entry('b', 'c-4')])).toBe(true);
    await writer.close();
    expect((await stored('c-')).map((r) => r.request_id).sort()).toEqual(['c-1', 'c-2', 'c-3', 'c-4']);
  });

  it('keeps what a failed flush took and stores it when the store is back, never twice', async () => {
    const faulty = new FaultyStore(store);
    const writer = new AccessLogWriter(faulty, { capacity: 10, flushIntervalMs: 1000, shards: 2 });
    faulty.down = true;
    writer.offer([entry('a', 'f-1'), entry('b', 'f-2')]);
    expect(await writer.flush()).toBe(2);
    expect(await writer.flush()).toBe(2);
    writer.offer([entry('a', 'f-3')]);
    expect(writer.held).toBe(3);
    // Stored, but the answer lost: the next flush finds them stored and does not append again.
    faulty.down = false;
    faulty.loseAnswers = true;
    expect(await writer.flush()).toBe(3);
    faulty.loseAnswers = false;
    expect(await writer.flush()).toBe(0);
    expect((await stored('f-')).map((r) => r.request_id).sort()).toEqual(['f-1', 'f-2', 'f-3']);
  });

  it('retries a bounded number of failed groups per flush; close drains them once the store is back', async () => {
    const faulty = new FaultyStore(store);
    const writer = new AccessLogWriter(faulty, { capacity: 100, flushIntervalMs: 1000, shards: 1 });
    faulty.down = true;
    for (let i = 0; i < 40; i++) {
      writer.offer([entry('a', `b-${i}`)]);
      await writer.flush();
    }
    expect(writer.held).toBe(40);
    faulty.lookups = 0;
    await writer.flush();
    // Each group tried before is looked up first (its earlier answer may have been lost).
    expect(faulty.lookups).toBe(16);
    faulty.down = false;
    expect(await writer.flush()).toBe(24);
    expect(await writer.close()).toBe(0);
    expect((await stored('b-')).length).toBe(40);
  });

  it('at close, stores what it holds; what it cannot store is logged with the count', async () => {
    const errors: string[] = [];
    const faulty = new FaultyStore(store);
    const log = { error: (m: string) => errors.push(m), warn: () => undefined };
    const writer = new AccessLogWriter(faulty, { capacity: 10, flushIntervalMs: 1000, shards: 1, log });
    writer.offer([entry('a', 'x-1'), entry('a', 'x-2')]);
    faulty.down = true;
    expect(await writer.close(3, 1)).toBe(2);
    expect(errors).toEqual(['access log: 2 access entries could not be stored and are lost']);
    expect(writer.offer([entry('a', 'x-3')])).toBe(false);

    const closing = new AccessLogWriter(store, { capacity: 10, flushIntervalMs: 1000, shards: 1 });
    closing.offer([entry('a', 'y-1')]);
    expect(await closing.close()).toBe(0);
    expect((await stored('y-')).map((r) => r.request_id)).toEqual(['y-1']);
  });

  /** Makes the database refuse entries whose request id starts with `prefix`, with this SQLSTATE. */
  async function refuse(prefix: string, sqlstate: string): Promise<() => Promise<void>> {
    const name = `test_refuse_${prefix.replace(/\W/g, '_')}`;
    await db.pool.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data->>'requestId' LIKE '${prefix}%' THEN
          RAISE EXCEPTION 'refused (test)' USING ERRCODE = '${sqlstate}';
        END IF;
        RETURN NEW;
      END $$`);
    await db.pool.query(`CREATE TRIGGER ${name} BEFORE INSERT ON es_events FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    return async () => {
      await db.pool.query(`DROP TRIGGER ${name} ON es_events`);
      await db.pool.query(`DROP FUNCTION ${name}()`);
    };
  }

  it('gives any tenant id a stream the database takes, always the same; named tenants keep theirs', async () => {
    const odd = ['a'.repeat(65), '', 'a b', 'Ünïcode', '-x', 'x/../y', 'İ', 'tab\there', '%', 'a\u0001'];
    const writer = new AccessLogWriter(store, { capacity: 100, flushIntervalMs: 1000, shards: 1 });
    writer.offer(odd.map((tenant, i) => entry(tenant, `o-odd-${i}`)));
    writer.offer([entry('Tenant-A', 'o-named'), entry('Z'.repeat(64), 'o-long'), entry('*', 'o-none')]);
    expect(await writer.flush()).toBe(0);
    writer.offer(odd.map((tenant, i) => entry(tenant, `o-again-${i}`)));
    expect(await writer.flush()).toBe(0);
    expect(writer.quarantinedTotal).toBe(0);
    const rows = await stored('o-');
    const streamOf = (id: string) => rows.find((r) => r.request_id === id)?.stream_id;
    expect(streamOf('o-named')).toBe('access-tenant-a-0');
    expect(streamOf('o-long')).toBe(`access-${'z'.repeat(64)}-0`);
    expect(streamOf('o-none')).toBe('access-*-0');
    odd.forEach((tenant, i) => {
      expect(streamOf(`o-odd-${i}`)).toMatch(/^access-sha256\.[0-9a-f]{32}-0$/);
      expect(streamOf(`o-again-${i}`)).toBe(streamOf(`o-odd-${i}`));
      expect(accessStreamId(tenant, 0)).toBe(streamOf(`o-odd-${i}`));
      // The entry keeps its tenant as it was; only the stream's name is hashed.
      expect(rows.find((r) => r.request_id === `o-odd-${i}`)!.tenant_id).toBe(tenant);
    });
    expect(new Set(odd.map((_, i) => streamOf(`o-odd-${i}`))).size).toBe(odd.length);
    expect(accessStreamId('a B', 3)).toBe(accessStreamId('A b', 3));
    for (const streamId of new Set(rows.map((r) => r.stream_id))) {
      expect(await store.verifyStream(streamId)).toMatchObject({ valid: true });
    }
  });

  it('quarantines an entry refused for good; the rest of its append is stored once, the buffer empties', async () => {
    const errors: string[] = [];
    const quarantined: string[] = [];
    const log = { error: (m: string) => errors.push(m), warn: () => undefined };
    const writer = new AccessLogWriter(store, {
      capacity: 4,
      flushIntervalMs: 1000,
      shards: 1,
      log,
      quarantineCapacity: 1,
      onQuarantine: (e) => quarantined.push(String(e.event.data.requestId)),
    });
    // An integrity violation (class 23) for one entry: it fails the append of its whole group.
    const restore = await refuse('poison', '23514');
    try {
      expect(writer.offer([entry('a', 'q-1'), entry('a', 'poison-1'), entry('a', 'q-2'), entry('b', 'q-3')])).toBe(
        true,
      );
      expect(await writer.flush()).toBe(0);
      expect((await stored('q-')).map((r) => r.request_id).sort()).toEqual(['q-1', 'q-2', 'q-3']);
      expect(await stored('poison')).toEqual([]);
      expect(quarantined).toEqual(['poison-1']);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('can never be stored and is quarantined ("23514 refused (test)")');
      expect(errors[0]).toContain(`key "${KEY}", tenant "a", route "/v1/events", request "poison-1"`);

      // The store's own validation (a lone surrogate jsonb cannot keep) fails for good as well.
      expect(writer.offer([entry('a', 'q-4'), entry('\uD800', 'bad-2'), entry('a', 'poison-3')])).toBe(true);
      expect(await writer.flush()).toBe(0);
      expect(writer.held).toBe(0);
      expect(quarantined).toEqual(['poison-1', 'bad-2', 'poison-3']);
      expect(writer.quarantinedTotal).toBe(3);
      // The quarantine is bounded: the latest only.
      expect(writer.quarantined.map((e) => e.event.data.requestId)).toEqual(['poison-3']);
      expect(writer.offer([entry('a', 'q-5'), entry('a', 'q-6'), entry('a', 'q-7'), entry('a', 'q-8')])).toBe(true);
      expect(await writer.flush()).toBe(0);
      expect((await stored('q-')).map((r) => r.request_id).sort()).toEqual([
        'q-1',
        'q-2',
        'q-3',
        'q-4',
        'q-5',
        'q-6',
        'q-7',
        'q-8',
      ]);
    } finally {
      await restore();
    }
  });

  it('quarantines nothing stored after all: a lasting error for stored entries counts them stored', async () => {
    const errors: string[] = [];
    const faulty = new FaultyStore(store);
    const log = { error: (m: string) => errors.push(m), warn: () => undefined };
    const writer = new AccessLogWriter(faulty, { capacity: 10, flushIntervalMs: 1000, shards: 1, log });
    faulty.refuseAfterStoring = true;
    writer.offer([entry('a', 'd-1'), entry('a', 'd-2')]);
    // Each alone again: the store refuses the eventIds as duplicates, and the lookup finds them.
    expect(await writer.flush()).toBe(0);
    expect(writer.quarantinedTotal).toBe(0);
    expect(writer.stored).toBe(2);
    expect(errors).toEqual([]);
    expect((await stored('d-')).map((r) => r.request_id)).toEqual(['d-1', 'd-2']);
  });

  it('keeps retrying an entry whose error may pass (a serialization failure), and stores it once', async () => {
    const writer = new AccessLogWriter(store, { capacity: 10, flushIntervalMs: 1000, shards: 1 });
    const restore = await refuse('flaky', '40001');
    try {
      writer.offer([entry('a', 'flaky-1'), entry('a', 'flaky-2')]);
      expect(await writer.flush()).toBe(2);
      expect(await writer.flush()).toBe(2);
    } finally {
      await restore();
    }
    expect(await writer.flush()).toBe(0);
    expect(writer.quarantinedTotal).toBe(0);
    expect((await stored('flaky-')).map((r) => r.request_id)).toEqual(['flaky-1', 'flaky-2']);
  });

  it('flushes on its own at the interval once started', async () => {
    const writer = new AccessLogWriter(store, { capacity: 10, flushIntervalMs: 20, shards: 1 });
    writer.start();
    writer.offer([entry('a', 'i-1')]);
    for (let i = 0; i < 250 && (await stored('i-')).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await writer.close();
    expect((await stored('i-')).map((r) => r.request_id)).toEqual(['i-1']);
  });
});
