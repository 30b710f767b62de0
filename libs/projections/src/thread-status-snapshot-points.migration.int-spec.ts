import { DataSource } from 'typeorm';
import { PostgresEventStore } from '@app/event-store';
import { dataSourceOptions, runMigrations } from '@app/platform';
import { createTestDatabase, tableRows, TestDatabase } from '@app/testing';
import { ConversationDriver } from '../test/conversation-driver';
import { catchUp } from '../test/runner-fixtures';
import { readCheckpoint } from './checkpoints';
import { liveThreadStatus } from './read-models/thread-status.projection';
import { rebuildProjections } from './rebuild';

/** Migration 1764402500000 (ThreadStatusSnapshotPoints): rows keep their snapshot; down starts the model again. */
describe('migration ThreadStatusSnapshotPoints', () => {
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

  const columns = async () =>
    (
      await db.pool.query<{ column_name: string; is_nullable: string }>(
        `SELECT column_name, is_nullable FROM information_schema.columns
          WHERE table_name = 'rm_conversations' AND column_name LIKE 'snapshot%' ORDER BY column_name`,
      )
    ).rows;

  it('goes down to snapshots at every row version (the model emptied to start again), and up again', async () => {
    const driver = new ConversationDriver(store, { tenantId: 'mig' });
    await driver.start();
    await driver.thread(60);
    await catchUp(db.pool, store, liveThreadStatus());
    expect(await columns()).toEqual([
      { column_name: 'snapshot', is_nullable: 'YES' },
      { column_name: 'snapshot_version', is_nullable: 'YES' },
    ]);

    const ds = new DataSource(dataSourceOptions(db.url));
    await ds.initialize();
    try {
      const [last] = await ds.query<{ name: string }[]>('SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1');
      expect(last.name).toBe('ThreadStatusSnapshotPoints1764402500000');
      await ds.undoLastMigration({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
    expect(await columns()).toEqual([{ column_name: 'snapshot', is_nullable: 'NO' }]);
    expect(await tableRows(db.pool, 'rm_conversations')).toEqual([]);
    expect(await readCheckpoint(db.pool, 'thread-status')).toBe('0-0');

    await runMigrations(db.url);
    await catchUp(db.pool, store, liveThreadStatus());
    const live = await tableRows(db.pool, 'rm_conversations');
    expect(live).toMatchObject([{ version: '121', snapshot_version: '100' }]);
    await rebuildProjections(db.pool, store, [liveThreadStatus()]);
    expect(await tableRows(db.pool, 'rm_conversations')).toEqual(live);
  });
});
