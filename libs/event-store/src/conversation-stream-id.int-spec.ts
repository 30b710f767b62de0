import { randomUUID } from 'node:crypto';
import { DatabaseError } from 'pg';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { NewEvent, PostgresEventStore } from '@app/event-store';

const event = (): NewEvent => ({
  eventId: randomUUID(),
  type: 'ConversationStarted',
  data: { tenantId: 't-1' },
  metadata: { tenantId: 't-1' },
  occurredAt: '2026-01-02T03:04:05.678Z',
});

/** PostgreSQL's check_violation: the database itself refused the row. */
const CHECK_VIOLATION = expect.objectContaining({ code: '23514' });

/** Migration 1764400600000: a conversation stream id is `conversation-` + a lower-case UUID. */
describe('Conversation stream ids in the database', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const id = '0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10';
  const rowsOf = async (streamId: string) => {
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT (SELECT count(*) FROM es_events WHERE stream_id = $1)::int ' +
        '+ (SELECT count(*) FROM es_streams WHERE stream_id = $1)::int AS n',
      [streamId],
    );
    return rows[0].n;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it.each([
    ['upper case', `conversation-${id.toUpperCase()}`],
    ['mixed case', `conversation-${id.slice(0, 9)}2F4A${id.slice(13)}`],
    ['braces', `conversation-{${id}}`],
    ['a trailing space', `conversation-${id} `],
    ['no hyphens', `conversation-${id.replace(/-/g, '')}`],
    ['no UUID at all', 'conversation-not-a-uuid'],
  ])('refuses a stream whose id has %s, appended through the store, and writes nothing', async (_, streamId) => {
    const refused = await store
      .append(streamId, [event()], { expectedVersion: 'no_stream' })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DatabaseError);
    expect(refused).toEqual(CHECK_VIOLATION);
    expect(await rowsOf(streamId)).toBe(0);
  });

  it('refuses the upper-case stream in a batch, and lands the other appends of that batch', async () => {
    const good = Array.from({ length: 6 }, () => `conversation-${randomUUID()}`);
    const bad = `conversation-${randomUUID().toUpperCase()}`;
    const outcomes = await Promise.allSettled(
      [...good, bad].map((s) => store.append(s, [event()], { expectedVersion: 'no_stream' })),
    );
    expect(outcomes.slice(0, 6).map((o) => o.status)).toEqual(Array(6).fill('fulfilled'));
    expect(outcomes[6]).toEqual({ status: 'rejected', reason: CHECK_VIOLATION });
    expect(await rowsOf(bad)).toBe(0);
  });

  it('refuses an upper-case conversation stream written by hand, into either table', async () => {
    const upper = `conversation-${id.toUpperCase()}`;
    await expect(
      db.pool.query(`INSERT INTO es_streams (stream_id, version, head_hash) VALUES ($1, 1, repeat('0', 64))`, [upper]),
    ).rejects.toEqual(CHECK_VIOLATION);
    await expect(
      db.pool.query(
        `INSERT INTO es_events (stream_id, stream_version, event_id, type, data, metadata, occurred_at, prev_hash, hash)
         VALUES ($1, 1, $2, 'ConversationStarted', '{}', '{}', now(), repeat('0', 64), repeat('0', 64))`,
        [upper, randomUUID()],
      ),
    ).rejects.toEqual(CHECK_VIOLATION);
    await store.append(`conversation-${id}`, [event()], { expectedVersion: 'no_stream' });
    await expect(
      db.pool.query(
        `UPDATE es_streams SET stream_id = 'conversation-' || upper(substr(stream_id, 14)) WHERE stream_id = $1`,
        [`conversation-${id}`],
      ),
    ).rejects.toEqual(CHECK_VIOLATION);
  });

  it('takes lower-case conversation streams and any stream that is not a conversation', async () => {
    for (const streamId of [
      `conversation-${randomUUID()}`,
      `Conversation-${id.toUpperCase()}`,
      `keys-${id.toUpperCase()}`,
      'bench-X',
    ]) {
      await expect(store.append(streamId, [event()], { expectedVersion: 'no_stream' })).resolves.toMatchObject({
        firstVersion: 1,
      });
    }
  });
});
