import { randomBytes, randomUUID } from 'node:crypto';
import type { ClientBase } from 'pg';
import { streamIdOf } from '@app/conversation';
import { PostgresEventStore, VersionConflict } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { ContentKeys } from './content-keys';
import { eraseConversationInTransaction } from './erasure';
import { LocalMasterKey, masterKeyRing } from './master-key';
import { inTransaction } from './subject-stream';

/**
 * A message committed to a conversation while its erasure runs (sealed under the key the erasure
 * is destroying, from a process's cache) must not end up erased by an erasure recorded after it
 * as if it had been there before: found by review, when ContentErased was appended at any version.
 */
describe('an erasure racing a message', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const keys = () => new ContentKeys(db.pool, masterKeyRing(new LocalMasterKey(randomBytes(32))));
  const order = {
    erasureId: randomUUID(),
    scope: 'subject' as const,
    reason: 'request',
    actor: { type: 'operator' as const, id: 'admin' },
    tenantId: 't1',
  };
  const event = (type: string, data: Record<string, unknown>) => ({
    eventId: randomUUID(),
    type,
    data,
    metadata: { tenantId: 't1' },
    occurredAt: new Date().toISOString(),
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('given a message committed between key destruction and ContentErased, then the erasure rolls back', async () => {
    const id = randomUUID();
    await store.append(
      streamIdOf(id),
      [event('ConversationStarted', { conversationId: id, tenantId: 't1', subjectId: 's1', modelId: 'm' })],
      { expectedVersion: 'no_stream' },
    );
    const key = await keys().liveKey({ conversationId: id, tenantId: 't1', subjectId: 's1' });
    const raced = (c: ClientBase) =>
      ({
        query: async (text: string, values?: unknown[]) => {
          const result = await c.query(text, values);
          if (text.trimStart().startsWith('UPDATE content_keys')) {
            // another process appends a message meanwhile (its own connection, committed)
            await store.append(streamIdOf(id), [event('MessageAppended', { messageId: randomUUID(), content: 'x' })], {
              expectedVersion: 1,
            });
          }
          return result;
        },
      }) as unknown as ClientBase;

    await expect(
      inTransaction(db.pool, (c) => eraseConversationInTransaction(raced(c), id, order, new Date())),
    ).rejects.toBeInstanceOf(VersionConflict);
    const { rows } = await db.pool.query<{ type: string }>(
      'SELECT type FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
      [streamIdOf(id)],
    );
    expect(rows.map((r) => r.type)).toEqual(['ConversationStarted', 'MessageAppended']);
    const { rows: live } = await db.pool.query(
      'SELECT 1 FROM content_keys WHERE key_id = $1 AND destroyed_at IS NULL',
      [key.kid],
    );
    expect(live).toHaveLength(1);

    // decided again, it erases the message too and records it after it
    await inTransaction(db.pool, (c) => eraseConversationInTransaction(c, id, order, new Date()));
    const { rows: after } = await db.pool.query<{ type: string }>(
      'SELECT type FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
      [streamIdOf(id)],
    );
    expect(after.map((r) => r.type)).toEqual(['ConversationStarted', 'MessageAppended', 'ContentErased']);
  });
});
