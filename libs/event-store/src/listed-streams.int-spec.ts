import { randomUUID } from 'node:crypto';
import { createTestDatabase, TestDatabase, untilLogVisible } from '@app/testing';
import { PostgresEventStore, UNLISTED_STREAM_PREFIX } from './event-store';

const event = (type: string) => ({
  eventId: randomUUID(),
  type,
  data: {},
  metadata: {},
  occurredAt: '2026-12-05T10:00:00.000Z',
});

/** readAll's listedOnly: the public feed without the unlisted (access) streams, along its own index. */
describe('Unlisted streams', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    for (let i = 0; i < 20; i++) {
      await store.append(`${UNLISTED_STREAM_PREFIX}t-${i % 3}`, [event('ContentAccessed')], { expectedVersion: 'any' });
      if (i % 4 === 0) await store.append(`other-${i}`, [event('Something')], { expectedVersion: 'any' });
    }
    await untilLogVisible(db.pool, 25);
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('are read by readAll, and left out with listedOnly, page after page', async () => {
    expect((await store.readAll({ limit: 100 })).events).toHaveLength(25);
    const listed: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page = await store.readAll({ after, limit: 2, listedOnly: true });
      if (page.events.length === 0) break;
      listed.push(...page.events.map((e) => e.streamId));
      after = page.nextPosition;
    }
    expect(listed).toEqual(['other-0', 'other-4', 'other-8', 'other-12', 'other-16']);
  });

  it('are skipped along the partial index, not filtered row by row', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT * FROM es_events WHERE stream_id NOT LIKE '${UNLISTED_STREAM_PREFIX}%'
           AND (transaction_id, position) > ('0'::xid8, 0::bigint)
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY transaction_id, position LIMIT 50`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('es_events_listed_commit_order');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
