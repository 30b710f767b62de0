import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
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

  const chains = async (db: TestDatabase) =>
    (
      await db.pool.query(
        'SELECT stream_id, stream_version, type, hash FROM es_events ORDER BY stream_id, stream_version',
      )
    ).rows;

  it('writes exactly the events asked, in streams that all verify, the same for the same seed', async () => {
    const result = await seedConversations(first.pool, options);
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

    await seedConversations(second.pool, options);
    expect(await chains(second)).toEqual(await chains(first));
  });

  it('refuses to write the same seed twice into one database', async () => {
    await expect(seedConversations(first.pool, options)).rejects.toBeInstanceOf(SeedAlreadyWritten);
    expect(Number((await first.pool.query('SELECT count(*) AS n FROM es_events')).rows[0].n)).toBe(500);
  });
});
