import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A thread-status row's snapshot says which shape it is in (`snapshot_schema`, the domain's
 * CONVERSATION_SNAPSHOT_SCHEMA when the projection wrote it), as the command path's snapshots in
 * es_snapshots do: the projection folds on from a snapshot only of its own code's shape, and folds
 * any other row from its whole stream, so a snapshot written by another version of the code is
 * never misread.
 *
 * Rows written before this migration get NULL: their snapshots are not read. Each such row is
 * folded from its stream once per process until it passes its next snapshot point, where it gets
 * a snapshot with its schema. Nothing is rebuilt.
 */
export class ThreadStatusSnapshotSchema1764402600000 implements MigrationInterface {
  name = 'ThreadStatusSnapshotSchema1764402600000';

  async up(q: QueryRunner): Promise<void> {
    // One scan of the table under the ADD COLUMN's exclusive lock (every row NULL: nothing to refuse).
    await q.query(`ALTER TABLE rm_conversations ADD COLUMN snapshot_schema smallint CHECK (snapshot_schema > 0),
      ADD CONSTRAINT rm_conversations_snapshot_schema CHECK (snapshot_schema IS NULL OR snapshot IS NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The code before reads every row's snapshot: those this code wrote are of its shape.
    await q.query(`ALTER TABLE rm_conversations DROP CONSTRAINT rm_conversations_snapshot_schema`);
    await q.query(`ALTER TABLE rm_conversations DROP COLUMN snapshot_schema`);
  }
}
