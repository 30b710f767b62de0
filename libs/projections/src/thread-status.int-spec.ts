import { Pool } from 'pg';
import { CONVERSATION_SNAPSHOT_SCHEMA, type ConversationSnapshot, foldEvents, toSnapshot } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, tableRows, TestDatabase } from '@app/testing';
import { ConversationDriver } from '../test/conversation-driver';
import { catchUp } from '../test/runner-fixtures';
import { readCheckpoint } from './checkpoints';
import { ProjectionRunner } from './projection-runner';
import { rebuildProjections } from './rebuild';
import { readConversationSpans } from './recorded';
import { liveThreadStatus, SNAPSHOT_EVERY, threadStatusRebuild } from './read-models/thread-status.projection';

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
  store = new PostgresEventStore(pool);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

interface Row {
  conversation_id: string;
  version: string;
  snapshot_version: string | null;
  snapshot_schema: number | null;
  snapshot: ConversationSnapshot | null;
  message_count: number;
}
const rows = async () => (await tableRows(pool, 'rm_conversations')) as Row[];
const rowOf = async (id: string) => (await rows()).find((r) => r.conversation_id === id)!;

/** A conversation's events through a version, as the projection folds them (content emptied). */
const eventsThrough = async (conversationId: string, through: number) =>
  (await readConversationSpans(pool, [{ conversationId, after: 0, through }])).get(conversationId)!;

/** The rows a rebuild writes (in batches of `batchSize`, with at most `remembered` states in memory). */
async function rebuilt(batchSize: number, remembered = 20_000): Promise<Row[]> {
  const projection = { ...liveThreadStatus(), forRebuild: () => threadStatusRebuild(remembered) };
  await rebuildProjections(pool, store, [projection], undefined, batchSize);
  return rows();
}

/** Appends one batch of the log to the projection in a transaction that is rolled back. */
async function applyAndRollBack(projection: ReturnType<typeof liveThreadStatus>): Promise<void> {
  const conn = await pool.connect();
  try {
    const batch = await store.readAllRange({ after: await readCheckpoint(conn, projection.name), limit: 1000 });
    if (!batch) throw new Error('nothing to apply');
    const prepared = await projection.prepare!(conn, batch);
    await conn.query('BEGIN');
    await projection.apply(conn, batch, prepared);
    await conn.query('ROLLBACK');
  } finally {
    conn.release();
  }
}

describe('thread-status projection: snapshot points and the states it keeps', () => {
  const live = liveThreadStatus();
  let long: ConversationDriver;
  let short: ConversationDriver;

  beforeAll(async () => {
    long = new ConversationDriver(store, { tenantId: 'ts' });
    short = new ConversationDriver(store, { tenantId: 'ts' });
    await long.start();
    await short.start();
    // Caught up in between, so the live projection folds the long one in batches of every size.
    let parent: string | null = null;
    for (const turns of [20, 1, 60, 2, 80]) {
      parent = (await long.thread(turns, parent)).at(-1)!;
      await short.say('user', null);
      await catchUp(pool, store, live);
    }
  });

  it('keeps a snapshot of the last point passed only, and the rows are a rebuild’s whatever the batches', async () => {
    expect(long.state.version).toBe(327);
    const row = await rowOf(long.conversationId);
    expect([row.version, row.snapshot_version, row.snapshot?.version, row.snapshot_schema]).toEqual([
      '327',
      '300',
      300,
      CONVERSATION_SNAPSHOT_SCHEMA,
    ]);
    // The snapshot is the state folded through its point, content-free.
    const head = await eventsThrough(long.conversationId, 300);
    expect(row.snapshot).toEqual(JSON.parse(JSON.stringify(toSnapshot(foldEvents(head)))));
    // A short conversation has passed no point: no snapshot.
    const shortRow = await rowOf(short.conversationId);
    expect([shortRow.version, shortRow.snapshot_version, shortRow.snapshot, shortRow.snapshot_schema]).toEqual([
      '6',
      '0',
      null,
      null,
    ]);
    const liveRows = await rows();
    expect(await rebuilt(1000)).toEqual(liveRows);
    expect(await rebuilt(7)).toEqual(liveRows);
    // States leaving the rebuild's memory are folded on from their rows (snapshot and events after it).
    expect(await rebuilt(7, 1)).toEqual(liveRows);
    expect(SNAPSHOT_EVERY).toBe(100);
  });

  it('folds a row it holds no state of from its snapshot and the events after it (another process)', async () => {
    await long.thread(40, long.state.activeLeafMessageId);
    await catchUp(pool, store, liveThreadStatus());
    const row = await rowOf(long.conversationId);
    expect([row.version, row.snapshot_version, row.message_count]).toEqual(['407', '400', 406]);
    expect(await rebuilt(1000)).toEqual(await rows());
  });

  it('with a memory too small for a conversation, folds it from its row every batch', async () => {
    await long.thread(3, long.state.activeLeafMessageId);
    await catchUp(pool, store, liveThreadStatus(10));
    const liveRows = await rows();
    expect((await rowOf(long.conversationId)).version).toBe('413');
    expect(await rebuilt(1000)).toEqual(liveRows);
  });

  it('folds a row whose snapshot is not at its snapshot_version from the whole stream (an older writer)', async () => {
    // As an older version of this projection would leave it after the migration: a snapshot at
    // the row's version, labelled with the snapshot point before.
    const row = await rowOf(long.conversationId);
    expect(row.snapshot_version).toBe('400');
    const events = await eventsThrough(long.conversationId, Number(row.version));
    await pool.query('UPDATE rm_conversations SET snapshot = $2 WHERE conversation_id = $1', [
      long.conversationId,
      JSON.stringify(toSnapshot(foldEvents(events))),
    ]);
    await long.thread(1, long.state.activeLeafMessageId);
    await catchUp(pool, store, liveThreadStatus());
    const after = await rowOf(long.conversationId);
    // Folding the events after 400 onto a state that already has them would count them twice.
    expect([after.version, after.message_count]).toEqual([String(long.state.version), long.state.version - 1]);
    const { snapshot: _s, snapshot_version: _v, ...status } = after;
    const again = (await rebuilt(1000)).find((r) => r.conversation_id === long.conversationId)!;
    const { snapshot: _s2, snapshot_version: _v2, ...rebuiltStatus } = again;
    expect(status).toEqual(rebuiltStatus);
  });

  it('never reads a snapshot of another schema version: the row is folded from its whole stream', async () => {
    const row = await rowOf(long.conversationId);
    expect(row.snapshot_version).toBe('400');
    // Another version of the code's shape, at the right version: read as this code's, it would
    // fold onto a state that is not one (messages not a list).
    const foreign = { version: 400, shape: 'another', messages: { count: 399 } };
    for (const schema of [CONVERSATION_SNAPSHOT_SCHEMA + 1, null]) {
      await pool.query('UPDATE rm_conversations SET snapshot = $2, snapshot_schema = $3 WHERE conversation_id = $1', [
        long.conversationId,
        JSON.stringify(foreign),
        schema,
      ]);
      await long.thread(1, long.state.activeLeafMessageId);
      await catchUp(pool, store, liveThreadStatus());
      const after = await rowOf(long.conversationId);
      expect([after.version, after.message_count, after.snapshot, after.snapshot_schema]).toEqual([
        String(long.state.version),
        long.state.version - 1,
        foreign, // no point passed: kept as it is, never read
        schema,
      ]);
      const { snapshot: _s, snapshot_version: _v, snapshot_schema: _c, ...status } = after;
      const again = (await rebuilt(1000)).find((r) => r.conversation_id === long.conversationId)!;
      const { snapshot: _s2, snapshot_version: _v2, snapshot_schema: _c2, ...rebuiltStatus } = again;
      expect(status).toEqual(rebuiltStatus);
      expect(again.snapshot_schema).toBe(CONVERSATION_SNAPSHOT_SCHEMA);
    }
  });

  it('does not trust a state it folded in a batch that was rolled back: the row is folded again', async () => {
    const projection = liveThreadStatus();
    await catchUp(pool, store, projection); // holds the long conversation's state now
    await long.thread(2, long.state.activeLeafMessageId);
    await applyAndRollBack(projection); // its state moved on by 4 events, the row did not
    await catchUp(pool, store, projection);
    const row = await rowOf(long.conversationId);
    // Folding the batch again onto the state that already had it would count its messages twice.
    expect([row.version, row.message_count]).toEqual([String(long.state.version), long.state.version - 1]);
    expect(await rebuilt(1000)).toEqual(await rows());
  });

  it('folds a row written before snapshot points (snapshot at its version, no snapshot_version) on', async () => {
    const before = await rowOf(long.conversationId);
    const through = Number(before.version);
    const events = await eventsThrough(long.conversationId, through);
    await pool.query(
      `UPDATE rm_conversations SET snapshot_version = NULL, snapshot_schema = NULL, snapshot = $2
        WHERE conversation_id = $1`,
      [long.conversationId, JSON.stringify(toSnapshot(foldEvents(events)))],
    );
    await long.thread(1, long.state.activeLeafMessageId);
    const runner = new ProjectionRunner(pool, store, liveThreadStatus(), { batchSize: 1000 });
    const conn = await pool.connect();
    try {
      expect(await runner.processBatch(conn)).toBe(2);
    } finally {
      conn.release();
    }
    const row = await rowOf(long.conversationId);
    // No point passed: the old snapshot stays, now with the version it is at.
    expect([row.version, row.snapshot_version, row.snapshot?.version, row.message_count]).toEqual([
      String(through + 2),
      String(through),
      through,
      through + 1,
    ]);
    expect(row.snapshot_schema).toBeNull();
    const { snapshot_version: _v, snapshot: _s, snapshot_schema: _c, ...status } = row;
    const again = (await rebuilt(1000)).find((r) => r.conversation_id === long.conversationId)!;
    const { snapshot_version: _v2, snapshot: _s2, snapshot_schema: _c2, ...rebuiltStatus } = again;
    expect(status).toEqual(rebuiltStatus);
    expect([again.snapshot_version, again.snapshot?.version]).toEqual(['400', 400]);
  });
});
