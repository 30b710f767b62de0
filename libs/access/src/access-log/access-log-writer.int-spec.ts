import { Pool } from 'pg';
import { AppendOptions, NewEvent, PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { AccessLogWriter, AccessLogStore } from './access-log-writer';
import { AccessEntry } from './content-accessed';

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
  appends = 0;
  lookups = 0;
  constructor(private readonly store: PostgresEventStore) {}
  async append(streamId: string, events: NewEvent[], options: AppendOptions) {
    this.appends++;
    if (this.down) throw new Error('connection refused (test)');
    const result = await this.store.append(streamId, events, options);
    if (this.loseAnswers) throw new Error('connection reset after commit (test)');
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

  it('flushes on its own at the interval once started', async () => {
    const writer = new AccessLogWriter(store, { capacity: 10, flushIntervalMs: 20, shards: 1 });
    writer.start();
    writer.offer([entry('a', 'i-1')]);
    for (let i = 0; i < 250 && (await stored('i-')).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await writer.close();
    expect((await stored('i-')).map((r) => r.request_id)).toEqual(['i-1']);
  });
});
