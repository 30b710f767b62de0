import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
import { POLICY_V1 } from '@app/conversation';
import type { DataSource } from 'typeorm';
import { BlockedEndEntity } from '@app/projections';
import { createTestDatabase, openTestDataSource, TestDatabase } from '@app/testing';
import { checkCompliance } from './compliance';
import { encodeSequenceCursor } from './cursor';
import { listBlockedEnds } from './blocked-ends.query';
import { endStats } from './end-stats.query';
import { listEnds } from './ends.query';
import { reviewStats } from './review-stats.query';
import { sampleEnds } from './sample.query';

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** The audit SQL on its own, against rows written straight into the read models and the log. */
describe('audit queries', () => {
  let db: TestDatabase;
  /** The read models' entities on the same database (the blocked-ends list reads through them). */
  let entities: DataSource;

  const insertEnd = (n: number, endedAt: string, extra: { reasonCode?: string; tenantId?: string } = {}) =>
    db.pool.query(
      `INSERT INTO rm_ends (end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, ` +
        `policy_version, ended_at,
         ended_at_message_id, redirection_count, version, position)
       VALUES ($1, $2, $3, $4, 'model', 'claude-opus-4-1', 1, $5, $6, 2, 9, '1-1')`,
      [id(n), id(1000 + n), extra.tenantId ?? 'acme', extra.reasonCode ?? 'ABUSE_OF_ASSISTANT', endedAt, id(2000 + n)],
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    entities = await openTestDataSource(db.url, [BlockedEndEntity]);
    // Microseconds apart, and two at the very same instant: the keyset must not lose or repeat any.
    await insertEnd(1, '2025-03-03T10:00:00.000001Z');
    await insertEnd(2, '2025-03-03T10:00:00.000002Z');
    await insertEnd(3, '2025-03-03T10:00:00.000002Z');
    await insertEnd(4, '2025-03-03T10:00:00.000003Z', { reasonCode: 'USER_REQUESTED', tenantId: "o'brien" });
    await db.pool.query(
      `INSERT INTO rm_blocked_ends (event_id, conversation_id, tenant_id, initiator, proposed_reason_code, ` +
        `failed_guards, at_message_id,
         model_id, policy_version, attempted_at)
       VALUES ($1, $2, 'acme', 'model', 'ABUSE_OF_ASSISTANT', ARRAY['INSUFFICIENT_REDIRECTION'], $3, ` +
        `'claude-opus-4-1', 1, now())`,
      [id(50), id(51), id(52)],
    );
    await db.pool.query(
      `INSERT INTO rm_daily_ends VALUES ('2025-03-03', 'acme', 'reasonCode', 'ABUSE_OF_ASSISTANT', 3)`,
    );
    await db.pool.query(`INSERT INTO rm_daily_started VALUES ('2025-03-03', 'acme', 10)`);
  });
  afterAll(async () => {
    await entities.destroy();
    await db.drop();
  });

  it('pages through ends that share a timestamp or differ by a microsecond, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listEnds(db.pool, {}, { limit: 1, cursor });
      seen.push(...page.items.map((e) => e.endEventId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([id(4), id(3), id(2), id(1)]);
  });

  it('binds every filter as a value: quotes, wildcards and SQL match nothing', async () => {
    for (const hostile of ["' OR '1'='1", "x'; DROP TABLE rm_ends; --", '%', '_%', '\\', 'ABUSE%']) {
      expect((await listEnds(db.pool, { reasonCode: hostile })).items).toEqual([]);
      expect((await listEnds(db.pool, { modelId: hostile })).items).toEqual([]);
      expect((await listEnds(db.pool, { tenantId: hostile })).items).toEqual([]);
      expect((await listEnds(db.pool, { reviewOutcome: hostile as 'none' })).items).toEqual([]);
      expect((await listBlockedEnds(entities, { guard: hostile })).items).toEqual([]);
      expect((await listBlockedEnds(entities, { modelId: hostile })).items).toEqual([]);
      expect(await sampleEnds(db.pool, { reasonCode: hostile }, { size: 10, seed: hostile })).toEqual([]);
      expect((await endStats(db.pool, { tenantId: hostile })).buckets).toEqual([]);
      expect((await reviewStats(db.pool, { tenantId: hostile })).byReasonCode).toEqual([]);
    }
    expect((await listEnds(db.pool, { tenantId: "o'brien" })).items.map((e) => e.endEventId)).toEqual([id(4)]);
    expect((await listEnds(db.pool, {})).items).toHaveLength(4);
  });

  it('takes any text as a seed, quotes included', async () => {
    const sample = await sampleEnds(db.pool, {}, { size: 2, seed: "'; SELECT 1; --" });
    expect(sample).toHaveLength(2);
    expect(await sampleEnds(db.pool, {}, { size: 2, seed: "'; SELECT 1; --" })).toEqual(sample);
  });

  it('re-checks the log within a scan budget, handing a cursor on until every end was seen', async () => {
    const store = new PostgresEventStore(db.pool);
    for (let i = 0; i < 5; i++) {
      await store.append(
        `conversation-${id(3000 + i)}`,
        [
          {
            eventId: randomUUID(),
            type: 'ConversationEnded',
            data: { policyVersion: 1 },
            metadata: { tenantId: 'acme' },
            occurredAt: '2025-03-03T10:00:00Z',
          },
        ],
        { expectedVersion: 'no_stream' },
      );
    }
    const policyOf = (v: number) => (v === 1 ? POLICY_V1 : undefined);
    const first = await checkCompliance(db.pool, { policyOf, scanBudget: 2, limit: 500 });
    expect(first.checkedEnds).toBe(2);
    expect(first.items.map((i) => i.failedGuards)).toEqual([['MALFORMED_END'], ['MALFORMED_END']]);
    const found = [...first.items];
    let cursor = first.nextCursor;
    while (cursor) {
      const next = await checkCompliance(db.pool, { policyOf, scanBudget: 2, limit: 500, cursor });
      found.push(...next.items);
      cursor = next.nextCursor;
    }
    expect(found.map((i) => i.conversationId)).toEqual([0, 1, 2, 3, 4].map((i) => id(3000 + i)));
    const tail = await checkCompliance(db.pool, { policyOf, cursor: encodeSequenceCursor('999999') });
    expect(tail).toEqual({ items: [], nextCursor: null, checkedEnds: 0 });
  });
});
