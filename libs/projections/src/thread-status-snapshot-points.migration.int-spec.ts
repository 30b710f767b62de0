import { CONVERSATION_SNAPSHOT_SCHEMA, foldEvents, toSnapshot, toThreadStatus } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { runMigrations } from '@app/platform';
import { createTestDatabase, tableRows, TestDatabase, undoMigrationsThrough } from '@app/testing';
import { ConversationDriver } from '../test/conversation-driver';
import { catchUp } from '../test/runner-fixtures';
import { readCheckpoint } from './checkpoints';
import { liveThreadStatus } from './read-models/thread-status.projection';
import { readConversationSpans } from './recorded';
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

  it('goes down (the model emptied to start again), and up on a row written before: folded on from it', async () => {
    const driver = new ConversationDriver(store, { tenantId: 'mig' });
    await driver.start();
    await driver.thread(60);
    await catchUp(db.pool, store, liveThreadStatus());
    expect(await columns()).toEqual([
      { column_name: 'snapshot', is_nullable: 'YES' },
      { column_name: 'snapshot_schema', is_nullable: 'YES' },
      { column_name: 'snapshot_version', is_nullable: 'YES' },
    ]);

    await undoMigrationsThrough(db.url, 'ThreadStatusSnapshotPoints1764402500000');
    expect(await columns()).toEqual([{ column_name: 'snapshot', is_nullable: 'NO' }]);
    expect(await tableRows(db.pool, 'rm_conversations')).toEqual([]);
    expect(await readCheckpoint(db.pool, 'thread-status')).toBe('0-0');

    // A row as the code before wrote it (its snapshot at its version), the checkpoint at the log's end.
    const state = foldEvents(
      (await readConversationSpans(db.pool, [{ conversationId: driver.conversationId, after: 0, through: 121 }])).get(
        driver.conversationId,
      )!,
    );
    const status = toThreadStatus(state);
    await db.pool.query(
      `INSERT INTO rm_conversations (conversation_id, tenant_id, subject_id, model_id, status,
         active_leaf_message_id, message_count, branch_count, redirection_count, open_risk_flags, ends, started_at,
         last_event_at, version, snapshot)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        driver.conversationId,
        state.tenantId,
        state.subjectId,
        state.modelId,
        status.status,
        status.activeLeafMessageId,
        status.messageCount,
        status.branchCount,
        status.redirectionCount,
        status.openRiskFlags,
        JSON.stringify(status.ends),
        state.startedAt,
        status.lastEventAt,
        status.version,
        JSON.stringify(toSnapshot(state)),
      ],
    );
    const head = await store.readAllRange({ after: '0-0', limit: 100_000 });
    await db.pool.query(`UPDATE projection_checkpoints SET position = $1 WHERE name = 'thread-status'`, [
      head!.through,
    ]);

    await runMigrations(db.url);
    const [legacy] = (await tableRows(db.pool, 'rm_conversations')) as Record<string, unknown>[];
    expect([legacy.snapshot_version, legacy.snapshot_schema]).toEqual([null, null]);
    // On from the old row (folded from its stream: a snapshot without its schema is not read): no
    // snapshot point passed, the old snapshot stays with its version said.
    await driver.thread(10);
    await catchUp(db.pool, store, liveThreadStatus());
    const [kept] = (await tableRows(db.pool, 'rm_conversations')) as Record<string, unknown>[];
    expect([
      kept.version,
      kept.snapshot_version,
      (kept.snapshot as { version: number }).version,
      kept.snapshot_schema,
    ]).toEqual(['141', '121', 121, null]);
    // Past a point, the row is what a rebuild writes.
    await driver.thread(40);
    await catchUp(db.pool, store, liveThreadStatus());
    const live = await tableRows(db.pool, 'rm_conversations');
    expect(live).toMatchObject([
      { version: '221', snapshot_version: '200', snapshot_schema: CONVERSATION_SNAPSHOT_SCHEMA },
    ]);
    await rebuildProjections(db.pool, store, [liveThreadStatus()]);
    expect(await tableRows(db.pool, 'rm_conversations')).toEqual(live);
  });
});
