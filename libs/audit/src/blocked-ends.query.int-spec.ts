import type { DataSource } from 'typeorm';
import { BlockedEndEntity } from '@app/projections';
import { createTestDatabase, openTestDataSource, TestDatabase } from '@app/testing';
import { listBlockedEnds } from './blocked-ends.query';

const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** The blocked-ends list, read through its entity, on rows written straight into the read model. */
describe(listBlockedEnds.name, () => {
  let db: TestDatabase;
  let entities: DataSource;

  const insert = (
    n: number,
    attemptedAt: string,
    more: { guards?: string[]; model?: string | null; tenant?: string } = {},
  ) =>
    db.pool.query(
      `INSERT INTO rm_blocked_ends (event_id, conversation_id, tenant_id, initiator, proposed_reason_code,
         failed_guards, at_message_id, model_id, policy_version, attempted_at)
       VALUES ($1, $2, $3, 'model', 'ABUSE_OF_ASSISTANT', $4, $5, $6, 2, $7)`,
      [
        id(n),
        id(100 + n),
        more.tenant ?? 'acme',
        more.guards ?? ['INSUFFICIENT_REDIRECTION'],
        id(200 + n),
        more.model === undefined ? 'model-x' : more.model,
        attemptedAt,
      ],
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    entities = await openTestDataSource(db.runtimeUrl, [BlockedEndEntity]);
    // Microseconds apart, and two at the very same instant: the keyset must not lose or repeat any.
    await insert(1, '2025-03-03T10:00:00.000001Z', { guards: ['INSUFFICIENT_REDIRECTION', 'NO_WARNING'] });
    await insert(2, '2025-03-03T10:00:00.000002Z', { model: null });
    await insert(3, '2025-03-03T10:00:00.000002Z', { tenant: 'globex' });
    await insert(4, '2025-03-04T08:00:00Z', { guards: ['NO_WARNING'] });
  });
  afterAll(async () => {
    await entities.destroy();
    await db.drop();
  });

  it('pages through attempts that share a timestamp or differ by a microsecond, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listBlockedEnds(entities, {}, { limit: 1, cursor });
      seen.push(...page.items.map((e) => e.eventId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([id(4), id(3), id(2), id(1)]);
    expect((await listBlockedEnds(entities, {}, { limit: 4 })).nextCursor).toBeNull();
  });

  it('answers an item with every field of the row', async () => {
    const { items } = await listBlockedEnds(
      entities,
      { guard: 'INSUFFICIENT_REDIRECTION', tenantId: 'acme' },
      { limit: 1 },
    );
    expect(items).toEqual([
      {
        eventId: id(2),
        conversationId: id(102),
        tenantId: 'acme',
        initiator: 'model',
        proposedReasonCode: 'ABUSE_OF_ASSISTANT',
        failedGuards: ['INSUFFICIENT_REDIRECTION'],
        atMessageId: id(202),
        modelId: null,
        policyVersion: 2,
        attemptedAt: '2025-03-03T10:00:00.000Z',
      },
    ]);
  });

  it.each([
    ['a guard among others', { guard: 'NO_WARNING' }, [4, 1]],
    ['the model', { modelId: 'model-x' }, [4, 3, 1]],
    ['the tenant', { tenantId: 'globex' }, [3]],
    ['the proposed reason and initiator', { reasonCode: 'ABUSE_OF_ASSISTANT', initiator: 'model' }, [4, 3, 2, 1]],
    [
      'a time range, from inclusive, to exclusive',
      { from: '2025-03-03T10:00:00.000Z', to: '2025-03-04T08:00:00Z' },
      [3, 2, 1],
    ],
  ])('filters by %s', async (_, filters, expected) => {
    expect((await listBlockedEnds(entities, filters)).items.map((e) => e.eventId)).toEqual(expected.map(id));
  });
});
