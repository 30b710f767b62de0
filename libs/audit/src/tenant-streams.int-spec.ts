import { randomUUID } from 'node:crypto';
import { ConversationCommand, POLICY_V1, streamIdOf } from '@app/conversation';
import { parsePosition, PostgresEventStore } from '@app/event-store';
import { createTestDatabase, fixtureDeps, runFixtureCommand, TestDatabase, testContentKeys } from '@app/testing';
import { checkCompliance } from './compliance';
import { countEnds, listEnds } from './ends.query';
import { streamEventsUpTo } from './events-up-to';
import { exportEndLines } from './export';
import { sampleEnds } from './sample.query';
import { readStreamOfTenant } from './tenant-streams';

const B_CONVERSATION = '0000000b-0000-4000-8000-00000000000b';
const AT = '2026-01-02T03:04:05.000Z';
const m = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Tenant B's conversation, ended for ABUSE_OF_ASSISTANT, written through the store as the API would. */
async function seedTenantB(store: PostgresEventStore): Promise<string> {
  const say = (messageId: string, parentMessageId: string | null, role: 'user' | 'assistant'): ConversationCommand => ({
    type: 'AppendMessage',
    data: { messageId, parentMessageId, role, content: `tenant B's secret ${messageId.slice(-2)}` },
  });
  const commands: ConversationCommand[] = [
    {
      type: 'StartConversation',
      data: { conversationId: B_CONVERSATION, tenantId: 'tenant-b', subjectId: 's-b', modelId: 'claude-opus-4-1' },
    },
    say(m(1), null, 'user'),
    say(m(2), m(1), 'assistant'),
    say(m(3), m(2), 'user'),
    say(m(4), m(3), 'assistant'),
    say(m(5), m(4), 'user'),
    { type: 'RecordRedirection', data: { messageId: m(2), harmCategory: 'ABUSE_OF_ASSISTANT' } },
    { type: 'RecordRedirection', data: { messageId: m(4), harmCategory: 'ABUSE_OF_ASSISTANT' } },
    { type: 'EndConversation', data: { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: m(5) } },
  ];
  const deps = fixtureDeps(store, { clock: () => new Date(AT) });
  let endEventId = '';
  for (const command of commands) {
    endEventId = (await runFixtureCommand(deps, B_CONVERSATION, 'tenant-b', command)).events[0].eventId;
  }
  return endEventId;
}

/**
 * A read-model row of tenant A that names tenant B's conversation (what the uuid columns made of
 * `conversation-ABC…` before ids were lower-cased, or a forged row) must yield nothing of B's.
 */
describe('Audit reads of a read-model row that points at another tenant’s stream', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let bEnd: string;
  const aEnd = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    bEnd = await seedTenantB(store);
    // The rows as the ends projection writes them (B's own), and the row of tenant A naming B's conversation.
    const insertEnd = (endEventId: string, conversationId: string, tenantId: string) =>
      db.pool.query(
        `INSERT INTO rm_ends (end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, ` +
          `policy_version, ended_at,
           ended_at_message_id, redirection_count, version, position)
         VALUES ($1, $2, $3, 'ABUSE_OF_ASSISTANT', 'model', 'claude-opus-4-1', 1, $4, $5, 2, 9, '1-1')`,
        [endEventId, conversationId, tenantId, AT, m(5)],
      );
    await insertEnd(bEnd, B_CONVERSATION, 'tenant-b');
    await insertEnd(aEnd, B_CONVERSATION.toUpperCase(), 'tenant-a');
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it(
    "leaves the row out of tenant A's ends, counts and samples; " + 'an all-tenant caller sees the rows as recorded',
    async () => {
      expect((await listEnds(db.pool, { tenantId: 'tenant-a' })).items).toEqual([]);
      expect(await countEnds(db.pool, { tenantId: 'tenant-a' })).toBe(0);
      expect(await sampleEnds(db.pool, { tenantId: 'tenant-a' }, { size: 10, seed: 's' })).toEqual([]);
      expect((await listEnds(db.pool, { tenantId: 'tenant-b' })).items.map((e) => [e.endEventId, e.tenantId])).toEqual([
        [bEnd, 'tenant-b'],
      ]);
      // Every tenant's caller may see every row: the check is skipped there (a rebuild drops the row).
      expect((await listEnds(db.pool, {})).items.map((e) => e.tenantId).sort()).toEqual(['tenant-a', 'tenant-b']);
    },
  );

  it('exports nothing of tenant B to tenant A', async () => {
    // The ends projection has seen the whole log: the export reads events up to there.
    await db.pool.query(
      `INSERT INTO projection_checkpoints (name, position)
       SELECT 'ends', transaction_id::text || '-' || position FROM es_events ORDER BY position DESC LIMIT 1
       ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
    );
    const exported = async (tenantId: string) => {
      // The export yields a line in pieces: its bytes, split into lines.
      let bytes = '';
      for await (const piece of exportEndLines(db.pool, { keys: testContentKeys(db.pool), filters: { tenantId } }))
        bytes += piece;
      return bytes.split('\n').filter((l) => l !== '');
    };
    const toA = await exported('tenant-a');
    expect(toA.map((l) => JSON.parse(l).type)).toEqual(['manifest']);
    expect(toA.join('')).not.toContain("tenant B's secret");
    const toB = await exported('tenant-b');
    expect(toB.map((l) => JSON.parse(l).type)).toEqual(['end', 'manifest']);
    expect(JSON.parse(toB[0]).events).toHaveLength(9);
  });

  it('reads events only of streams the given tenant started', async () => {
    const upTo = parsePosition('999999999-999999999');
    const read = async (tenantId: string) => {
      const chunks = [];
      for await (const chunk of streamEventsUpTo(db.pool, B_CONVERSATION, upTo, tenantId, 4)) chunks.push(...chunk);
      return chunks;
    };
    expect(await read('tenant-a')).toEqual([]);
    expect(await read('tenant-b')).toHaveLength(9);
    expect(await readStreamOfTenant(db.pool, streamIdOf(B_CONVERSATION), 'tenant-a')).toEqual([]);
    expect(await readStreamOfTenant(db.pool, streamIdOf(B_CONVERSATION), 'tenant-b')).toHaveLength(9);
    expect(await readStreamOfTenant(db.pool, streamIdOf(B_CONVERSATION), undefined)).toHaveLength(9);
  });

  it(
    'does not show tenant A an end recorded as A’s in a stream B started, ' + 'and re-checks it on no history',
    async () => {
      await store.append(
        streamIdOf(B_CONVERSATION),
        [
          {
            eventId: randomUUID(),
            type: 'ConversationEnded',
            data: { policyVersion: 1 },
            metadata: { tenantId: 'tenant-a' },
            occurredAt: AT,
          },
        ],
        { expectedVersion: 'any' },
      );
      const policyOf = (v: number) => (v === 1 ? POLICY_V1 : undefined);
      expect((await checkCompliance(db.pool, { policyOf, tenantId: 'tenant-a' })).items).toEqual([]);
      const all = await checkCompliance(db.pool, { policyOf });
      expect(all.items.map((i) => [i.tenantId, i.failedGuards])).toEqual([['tenant-a', ['MALFORMED_END']]]);
    },
  );
});
