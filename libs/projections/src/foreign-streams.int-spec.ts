import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase, untilLogVisible } from '@app/testing';
import { conversationIdOf } from '@app/conversation';
import { ALL_PROJECTIONS, CONVERSATION_ID_SQL, rebuildProjections } from '@app/projections';

/** Streams that are not started conversations must never wedge a projection. */
describe('Projections over foreign streams', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(() => db.drop());

  it('skips streams that never started a conversation or are not conversation streams', async () => {
    const store = new PostgresEventStore(db.pool);
    const at = '2026-01-02T03:04:05.000Z';
    const event = (type: string, data: Record<string, unknown>) => ({
      eventId: randomUUID(),
      type,
      data,
      metadata: { tenantId: 't-1' },
      occurredAt: at,
    });
    const unstarted = randomUUID();
    await store.append(
      `conversation-${unstarted}`,
      [event('MessageAppended', { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'x' })],
      { expectedVersion: 'any' },
    );
    // `conversation-not-a-uuid` is refused by the database since 1764400600000; a stream the
    // check lets through but that is no conversation's stands in for it.
    await store.append('Conversation-not-a-uuid', [event('ConversationEnded', { reasonCode: 'ABUSE_OF_ASSISTANT' })], {
      expectedVersion: 'any',
    });
    await store.append(`bench-${randomUUID()}`, [event('ConversationStarted', { conversationId: randomUUID() })], {
      expectedVersion: 'any',
    });

    await untilLogVisible(db.pool, 3);
    await expect(rebuildProjections(db.pool, store, ALL_PROJECTIONS)).resolves.toBe(3);
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*) FROM rm_conversations)::int AS conversations, ` +
        `(SELECT count(*) FROM rm_ends)::int AS ends,
              (SELECT count(*) FROM rm_daily_started)::int AS started`,
    );
    expect(rows[0]).toEqual({ conversations: 0, ends: 0, started: 0 });
  });

  it('tells conversation streams apart the same way in SQL as in the process', async () => {
    const id = randomUUID();
    const streams = [
      `conversation-${id}`,
      `conversation-${id.toUpperCase()}`,
      `conversation-${id}x`,
      `conversation-${id.slice(1)}`,
      `conversation-${id.replace(/-/g, '0')}`,
      `conversation-${id.slice(0, 8)}--${id.slice(10)}`,
      `conversation-${id.slice(0, 8)}0${id.slice(9)}`,
      `conversation-g${id.slice(1)}`,
      `conversation-${id.slice(0, 35)}é`,
      `conversations-${id}`,
      id,
      'conversation-',
      'conversation-not-a-uuid',
    ];
    const { rows } = await db.pool.query<{ stream_id: string; id: string | null }>(
      `SELECT e.stream_id, (${CONVERSATION_ID_SQL})::text AS id FROM unnest($1::text[]) AS e(stream_id)`,
      [streams],
    );
    expect(rows.map((r) => [r.stream_id, r.id])).toEqual(streams.map((s) => [s, conversationIdOf(s)]));
    expect(conversationIdOf(`conversation-${id.toUpperCase()}`)).toBeNull();
    expect(conversationIdOf(`conversation-${id}`)).toBe(id);
  });

  it(
    'folds a mixed-case stream written before the CHECK ' + 'into no read-model row of the lower-case conversation',
    async () => {
      const legacy = await createTestDatabase();
      try {
        const store = new PostgresEventStore(legacy.pool);
        const id = randomUUID();
        const at = '2025-01-02T03:04:05.000Z';
        const started = (tenantId: string, content: string) => [
          {
            eventId: randomUUID(),
            type: 'ConversationStarted',
            data: { conversationId: id, tenantId, subjectId: 's', modelId: 'claude-opus-4-1' },
            metadata: { tenantId },
            occurredAt: at,
          },
          {
            eventId: randomUUID(),
            type: 'MessageAppended',
            data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content },
            metadata: { tenantId },
            occurredAt: at,
          },
        ];
        await store.append(`conversation-${id}`, started('tenant-b', "B's secret"), { expectedVersion: 'no_stream' });
        // As it was before migration 1764400600000: the attacker's upper-case stream of the same id.
        await legacy.pool.query('ALTER TABLE es_streams DROP CONSTRAINT es_streams_conversation_id');
        await legacy.pool.query('ALTER TABLE es_events DROP CONSTRAINT es_events_conversation_id');
        await store.append(`conversation-${id.toUpperCase()}`, started('tenant-a', "A's message"), {
          expectedVersion: 'no_stream',
        });

        await rebuildProjections(legacy.pool, store, ALL_PROJECTIONS);
        const { rows: conversations } = await legacy.pool.query('SELECT tenant_id FROM rm_conversations');
        expect(conversations).toEqual([{ tenant_id: 'tenant-b' }]);
        const { rows: messages } = await legacy.pool.query('SELECT count(*)::int AS n FROM rm_messages');
        expect(messages[0].n).toBe(1);
        const { rows: startedCounts } = await legacy.pool.query('SELECT sum(started)::int AS n FROM rm_daily_started');
        expect(startedCounts[0].n).toBe(1);
      } finally {
        await legacy.drop();
      }
    },
  );
});
