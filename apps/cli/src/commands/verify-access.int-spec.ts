import { AccessLogWriter } from '@app/access';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { verify } from './verify.command';

/** Access entries are events like any: `verify` recomputes their chains with every other stream's. */
describe('verify over access streams', () => {
  let db: TestDatabase;
  let lines: string[];
  beforeAll(async () => {
    db = await createTestDatabase();
    const store = new PostgresEventStore(db.pool);
    const writer = new AccessLogWriter(store, { capacity: 100, flushIntervalMs: 1000, shards: 2 });
    for (let i = 0; i < 6; i++) {
      writer.offer([
        {
          at: '2026-12-05T10:00:00.000Z',
          keyId: '00000000-0000-4000-8000-00000000000a',
          role: 'admin',
          tenantId: i % 2 ? 'tenant-a' : 'tenant-b',
          route: '/v1/events',
          conversationIds: [],
          filter: {},
          requestId: `r-${i}`,
        },
      ]);
      await writer.flush();
    }
    await writer.close();
    await store.close();
  });
  afterAll(() => db.drop());
  beforeEach(() => {
    lines = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  it('passes on intact access streams, and names a rewritten entry', async () => {
    expect(await verify(db.pool, {})).toBe(0);
    expect(lines.at(-1)).toBe('ok 6 events');
    await db.pool.query('ALTER TABLE es_events DISABLE TRIGGER es_events_no_update');
    try {
      await db.pool.query(
        `UPDATE es_events SET data = data || '{"keyId": "someone-else"}' WHERE data->>'requestId' = 'r-3'`,
      );
    } finally {
      await db.pool.query('ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update');
    }
    expect(await verify(db.pool, {})).toBe(1);
    expect(lines.at(-1)).toMatch(/^broken: access-tenant-a-[01] at version \d+ \(content does not match its hash\)$/);
  });
});
