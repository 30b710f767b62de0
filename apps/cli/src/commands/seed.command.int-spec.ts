import { PostgresEventStore } from '@app/event-store';
import { readableEvents } from '@app/privacy';
import { createTestDatabase, TestDatabase, testContentKeys, testContentSealer } from '@app/testing';
import { SeedAlreadyWritten, seedConversations } from '@app/application';
import { parseSeedFlags } from './seed.command';

describe(seedConversations.name, () => {
  const options = parseSeedFlags({ events: '500', seed: '7' });
  let first: TestDatabase;
  let second: TestDatabase;

  beforeAll(async () => {
    [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(() => Promise.all([first.drop(), second.drop()]));

  // The same events and text for the same seed; the stored forms (and so the hashes) differ, each
  // database sealing under keys of its own with fresh nonces.
  const chains = async (db: TestDatabase) => {
    const { rows } = await db.pool.query<{ eventId: string; type: string; data: Record<string, unknown> }>(
      `SELECT stream_id, stream_version, event_id AS "eventId", type, data FROM es_events
        ORDER BY stream_id, stream_version`,
    );
    return (await readableEvents(testContentKeys(db.pool), rows)).map(({ storedData: _stored, ...e }) => e);
  };

  it('writes exactly the events asked, in streams that all verify, the same for the same seed', async () => {
    const result = await seedConversations(first.pool, testContentSealer(first.pool), options);
    expect(result.events).toBe(500);

    const count = async (sql: string) => Number((await first.pool.query<{ n: string }>(sql)).rows[0].n);
    expect(await count('SELECT count(*) AS n FROM es_events')).toBe(500);
    expect(await count('SELECT count(*) AS n FROM es_streams')).toBe(result.conversations);
    expect(await count('SELECT sum(version) AS n FROM es_streams')).toBe(500);
    // Every append went in under its own idempotency key.
    expect(await count('SELECT count(*) AS n FROM es_idempotency')).toBe(500);
    const { rows: byType } = await first.pool.query<{ type: string; n: number }>(
      'SELECT type, count(*)::int AS n FROM es_events GROUP BY type',
    );
    expect(Object.fromEntries(byType.map((r) => [r.type, r.n]))).toEqual(result.types);
    expect(result.types.ConversationStarted).toBe(result.conversations);

    const store = new PostgresEventStore(first.pool);
    const streams = await store.listStreams(null, 10_000);
    expect(streams).toHaveLength(result.conversations);
    const verified = await Promise.all(streams.map((s) => store.verifyStream(s)));
    expect(verified.filter((v) => !v.valid)).toEqual([]);
    expect(verified.reduce((n, v) => n + v.count, 0)).toBe(500);

    await seedConversations(second.pool, testContentSealer(second.pool), options);
    const [a, b] = [await chains(first), await chains(second)];
    expect(b).toEqual(a);
    expect(a.some((e) => e.type === 'MessageAppended' && typeof e.data.content === 'string')).toBe(true);
    // Stored sealed: no message's text is in the log as written.
    const plain = await first.pool.query(
      `SELECT 1 FROM es_events WHERE type = 'MessageAppended' AND jsonb_typeof(data->'content') = 'string'`,
    );
    expect(plain.rowCount).toBe(0);
  });

  it('refuses to write the same seed twice into one database', async () => {
    await expect(seedConversations(first.pool, testContentSealer(first.pool), options)).rejects.toBeInstanceOf(
      SeedAlreadyWritten,
    );
    expect(Number((await first.pool.query('SELECT count(*) AS n FROM es_events')).rows[0].n)).toBe(500);
  });
});
