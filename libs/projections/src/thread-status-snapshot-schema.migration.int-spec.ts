import { CONVERSATION_SNAPSHOT_SCHEMA } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { runMigrations } from '@app/platform';
import { createTestDatabase, tableRows, TestDatabase, undoMigrationsThrough } from '@app/testing';
import { ConversationDriver } from '../test/conversation-driver';
import { catchUp } from '../test/runner-fixtures';
import { liveThreadStatus } from './read-models/thread-status.projection';
import { rebuildProjections } from './rebuild';

/** Migration 1764402600000 (ThreadStatusSnapshotSchema): snapshots say their shape; older ones are not read. */
describe('migration ThreadStatusSnapshotSchema', () => {
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

  const rows = async () => (await tableRows(db.pool, 'rm_conversations')) as Record<string, unknown>[];
  const hasColumn = async () =>
    (
      await db.pool.query(
        `SELECT 1 FROM information_schema.columns
          WHERE table_name = 'rm_conversations' AND column_name = 'snapshot_schema'`,
      )
    ).rowCount === 1;

  it('refuses a schema without a snapshot; down keeps rows; up leaves them unread until their next point', async () => {
    const driver = new ConversationDriver(store, { tenantId: 'mig-schema' });
    await driver.start();
    await driver.thread(60); // 121 events: a snapshot at 100
    await catchUp(db.pool, store, liveThreadStatus());
    const [row] = await rows();
    expect([row.snapshot_version, row.snapshot_schema]).toEqual(['100', CONVERSATION_SNAPSHOT_SCHEMA]);
    await expect(
      db.pool.query('UPDATE rm_conversations SET snapshot = NULL, snapshot_version = 0, snapshot_schema = 2'),
    ).rejects.toThrow(/rm_conversations_snapshot_schema/);
    await expect(db.pool.query('UPDATE rm_conversations SET snapshot_schema = 0')).rejects.toThrow(/check constraint/);

    await undoMigrationsThrough(db.url, 'ThreadStatusSnapshotSchema1764402600000');
    expect(await hasColumn()).toBe(false);
    const [down] = await rows();
    const { snapshot_schema: _c, ...withoutSchema } = row;
    expect(down).toEqual(withoutSchema);

    await runMigrations(db.url);
    const [up] = await rows();
    expect(up).toEqual({ ...row, snapshot_schema: null });
    // Not past a point: folded from the stream, the unread snapshot kept as it is.
    await driver.thread(10);
    await catchUp(db.pool, store, liveThreadStatus());
    const [kept] = await rows();
    expect([kept.version, kept.snapshot_version, kept.snapshot_schema]).toEqual(['141', '100', null]);
    // Past one: a snapshot of this code's shape, and the row a rebuild's.
    await driver.thread(30);
    await catchUp(db.pool, store, liveThreadStatus());
    const live = await rows();
    expect(live).toMatchObject([
      { version: '201', snapshot_version: '200', snapshot_schema: CONVERSATION_SNAPSHOT_SCHEMA },
    ]);
    await rebuildProjections(db.pool, store, [liveThreadStatus()]);
    expect(await rows()).toEqual(live);
  });
});
