import { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { placeLegalHold, releaseLegalHold } from '@app/privacy';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { InvalidCursor } from './cursor';
import { listHolds } from './holds.query';

const admin = { keyId: 'key-admin', holder: 'Dana (DPO)' };

/** A subject's legal holds as auditors list them: newest first, every one reachable page by page. */
describe(listHolds.name, () => {
  let db: TestDatabase;
  let runtime: Pool;
  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 4 });
  });
  afterAll(async () => {
    await runtime.end();
    await db.drop();
  });

  it('lists holds newest first, released ones with who and when; another tenant’s subject has none', async () => {
    const subjectId = `s-${randomUUID()}`;
    const a = await placeLegalHold(runtime, { tenantId: 't-a', subjectId }, 'first', admin);
    const b = await placeLegalHold(runtime, { tenantId: 't-a', subjectId }, 'second', admin);
    await releaseLegalHold(runtime, { tenantId: 't-a', subjectId }, a.holdId, { keyId: 'key-2' });

    const { items, nextCursor } = await listHolds(runtime, { tenantId: 't-a', subjectId });
    expect(items.map((h) => h.holdId)).toEqual([b.holdId, a.holdId]);
    expect(items[0]).toEqual({ holdId: b.holdId, reason: 'second', placedAt: b.placedAt, placedBy: 'key-admin' });
    expect(items[1]).toMatchObject({ releasedBy: 'key-2', releasedAt: expect.any(String) });
    expect(nextCursor).toBeNull();
    expect(await listHolds(runtime, { tenantId: 't-b', subjectId })).toEqual({ items: [], nextCursor: null });
  });

  it('pages through every hold once, in order, however many (ties in time broken by id)', async () => {
    const subjectId = `s-${randomUUID()}`;
    const placed = [];
    for (let i = 0; i < 7; i++)
      placed.push(await placeLegalHold(runtime, { tenantId: 't-a', subjectId }, `h${i}`, admin));
    // two more placed in one transaction's time: the same placed_at
    await runtime.query(
      `INSERT INTO subject_holds (hold_id, tenant_id, subject_id, reason, placed_at, placed_by)
       SELECT gen_random_uuid(), 't-a', $1, 'same time', now(), 'key-admin' FROM generate_series(1, 2)`,
      [subjectId],
    );
    const all = (await listHolds(runtime, { tenantId: 't-a', subjectId }, { limit: 500 })).items;
    expect(all).toHaveLength(9);
    const paged = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listHolds(runtime, { tenantId: 't-a', subjectId }, { limit: 2, cursor });
      paged.push(...page.items);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(paged).toEqual(all);
    expect(all.slice(2).map((h) => h.holdId)).toEqual(placed.reverse().map((h) => h.holdId));
  });

  it('refuses a cursor it did not hand out', async () => {
    for (const cursor of ['x', Buffer.from('["p","1"]').toString('base64url'), ''])
      await expect(listHolds(runtime, { tenantId: 't-a', subjectId: 's' }, { cursor })).rejects.toThrow(InvalidCursor);
  });
});
