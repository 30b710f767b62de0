import { PostgresEventStore } from '@app/event-store';
import { runMigrations } from '@app/platform';
import { createTestDatabase, TestDatabase, undoMigrationsThrough } from '@app/testing';
import { appendEvents, conversationStream, expectedRoot } from '../test/log-fixtures';
import { catchUpSequencer } from './catch-up';
import { leafOfEvent, StoredNodes, storedTreeSize } from './stored-nodes';
import { rootAt } from '@app/tlog';

/** Migration 1764402400000 (TlogLeafRanges): a tree stored a row per leaf moves into ranges, and back. */
describe('migration TlogLeafRanges', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  const undoLast = () => undoMigrationsThrough(db.url, 'TlogLeafRanges1764402400000');

  const tableExists = async (name: string) =>
    (await db.pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name])).rows[0].t !== null;

  it('moves a tree stored a row per leaf into ranges of 1,024, every proof and leaf lookup unchanged', async () => {
    for (let i = 0; i < 11; i++) await appendEvents(store, conversationStream(), 100);
    await catchUpSequencer(db.pool, store);
    await appendEvents(store, conversationStream(), 5);
    await catchUpSequencer(db.pool, store);
    const size = await storedTreeSize(db.pool);
    expect(size).toBe(1105);
    const root = await rootAt(new StoredNodes(db.pool), size);
    expect(root).toEqual(await expectedRoot(db.pool));

    // Down: the layout before, a leaf row and a level-0 node per event, in commit order.
    await undoLast();
    expect(await tableExists('tlog_ranges')).toBe(false);
    const { rows: old } = await db.pool.query<{ leaves: number; ordered: number; nodes: number; hashed: number }>(
      `SELECT (SELECT count(*)::int FROM tlog_leaves) AS leaves,
              (SELECT count(*)::int FROM tlog_leaves l JOIN (
                 SELECT transaction_id, position, row_number() OVER (ORDER BY transaction_id, position) - 1 AS i
                   FROM es_events) e USING (transaction_id, position) WHERE e.i = l.leaf_index) AS ordered,
              (SELECT count(*)::int FROM tlog_nodes WHERE level = 0) AS nodes,
              (SELECT count(*)::int FROM tlog_nodes n JOIN tlog_leaves l ON n.level = 0 AND n.index = l.leaf_index
                 JOIN es_events e USING (transaction_id, position)
                WHERE n.hash = sha256('\\x00'::bytea || decode(e.hash, 'hex'))) AS hashed`,
    );
    expect(old).toEqual([{ leaves: 1105, ordered: 1105, nodes: 1105, hashed: 1105 }]);

    // Up again: ranges of 1,024 from those rows; tlog_leaves and the level-0 nodes gone.
    await runMigrations(db.url);
    expect(await tableExists('tlog_leaves')).toBe(false);
    const { rows: ranges } = await db.pool.query<{ first_leaf: string; leaves: number }>(
      'SELECT first_leaf, leaves FROM tlog_ranges ORDER BY first_leaf',
    );
    expect(ranges).toEqual([
      { first_leaf: '0', leaves: 1024 },
      { first_leaf: '1024', leaves: 81 },
    ]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM tlog_nodes WHERE level = 0')).rows[0].n).toBe(0);
    expect(await storedTreeSize(db.pool)).toBe(1105);
    expect(await rootAt(new StoredNodes(db.pool), size)).toEqual(root);
    const { rows: events } = await db.pool.query<{ event_id: string }>(
      'SELECT event_id FROM es_events ORDER BY transaction_id, position',
    );
    for (const i of [0, 1023, 1024, 1104]) expect((await leafOfEvent(db.pool, events[i].event_id))?.leafIndex).toBe(i);
    // And the sequencer goes on from there.
    await appendEvents(store, conversationStream(), 3);
    await catchUpSequencer(db.pool, store);
    expect(await rootAt(new StoredNodes(db.pool), 1108)).toEqual(await expectedRoot(db.pool));
  });

  it('refuses a stored tree with a hole, and changes nothing', async () => {
    await appendEvents(store, conversationStream(), 6);
    await catchUpSequencer(db.pool, store);
    await undoLast();
    await db.pool.query('ALTER TABLE tlog_leaves DISABLE TRIGGER tlog_leaves_no_update');
    await db.pool.query('DELETE FROM tlog_leaves WHERE leaf_index = 2');
    await db.pool.query('ALTER TABLE tlog_leaves ENABLE ALWAYS TRIGGER tlog_leaves_no_update');
    await expect(runMigrations(db.url)).rejects.toThrow(/not one contiguous tree \(5 leaf rows, 6 leaf nodes/);
    expect(await tableExists('tlog_ranges')).toBe(false);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM tlog_nodes WHERE level = 0')).rows[0].n).toBe(6);
  });
});
