import { randomUUID } from 'node:crypto';
import { AccessLogWriter, CONTENT_ACCESSED } from '@app/access';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase, untilLogVisible } from '@app/testing';
import { ALL_PROJECTIONS, accessProjection, rebuildProjections } from '@app/projections';

const KEY = '00000000-0000-4000-8000-00000000000a';
const CONVERSATION = '00000000-0000-4000-8000-0000000000c1';

/** rm_access from the access streams; the other read models take no notice of them. */
describe('The access projection', () => {
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

  it('keeps a row per entry, skips entries no service wrote, and leaves every other read model alone', async () => {
    const writer = new AccessLogWriter(store, { capacity: 10, flushIntervalMs: 1000, shards: 2 });
    const at = '2026-12-05T10:00:00.123Z';
    const base = { at, keyId: KEY, role: 'auditor' as const, route: '/v1/events', filter: { limit: '5' } };
    writer.offer([
      { ...base, tenantId: 'tenant-a', conversationIds: [CONVERSATION], requestId: 'r-1' },
      { ...base, tenantId: '*', conversationIds: [], requestId: 'r-2' },
    ]);
    await writer.close();
    // A ContentAccessed the service could not have written (no key id): left out, not wedging.
    await store.append(
      'access-tenant-a-0',
      [
        {
          eventId: randomUUID(),
          type: CONTENT_ACCESSED,
          data: { keyId: 'nobody', conversationIds: 'x' },
          metadata: {},
          occurredAt: at,
        },
      ],
      { expectedVersion: 'any' },
    );

    await untilLogVisible(db.pool, 3);
    await rebuildProjections(db.pool, store, ALL_PROJECTIONS);
    const { rows } = await db.pool.query(
      `SELECT key_id, role, tenant_id, route, conversation_ids, filter, request_id, accessed_at FROM rm_access
        ORDER BY request_id`,
    );
    expect(rows).toEqual([
      {
        key_id: KEY,
        role: 'auditor',
        tenant_id: 'tenant-a',
        route: '/v1/events',
        conversation_ids: [CONVERSATION],
        filter: { limit: '5' },
        request_id: 'r-1',
        accessed_at: new Date(at),
      },
      expect.objectContaining({ tenant_id: '*', conversation_ids: [], request_id: 'r-2' }),
    ]);
    const { rows: others } = await db.pool.query(
      `SELECT (SELECT count(*) FROM rm_conversations)::int + (SELECT count(*) FROM rm_messages)::int
            + (SELECT count(*) FROM rm_ends)::int + (SELECT count(*) FROM rm_daily_started)::int AS n`,
    );
    expect(others[0].n).toBe(0);

    // Rebuilt again: the same rows.
    const before = (await db.pool.query('SELECT * FROM rm_access ORDER BY event_id')).rows;
    await rebuildProjections(db.pool, store, [accessProjection]);
    expect((await db.pool.query('SELECT * FROM rm_access ORDER BY event_id')).rows).toEqual(before);
  });
});
