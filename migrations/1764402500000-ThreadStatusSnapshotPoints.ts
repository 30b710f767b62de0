import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The thread-status read model stops rewriting each conversation's snapshot with every batch
 * (a 10,000-message conversation's snapshot is about 1 MB: every message cost the projection
 * reading, parsing, serialising and writing it). A row now keeps the snapshot of the last
 * snapshot point its stream passed (`snapshot_version`, see snapshotPointAtOrBefore in
 * libs/projections) and is folded on from the events after it; until a stream passes its first
 * point the row holds no snapshot (NULL, `snapshot_version` 0).
 *
 * Rows written before this migration keep their snapshot, which is at their `version`: there
 * `snapshot_version` is NULL, read as `version`, and set at the row's next write. Nothing is
 * rebuilt. Stop projectors of the older version before this runs: one writing after it would
 * leave a snapshot at the row's version under an older snapshot_version (the projection sees the
 * mismatch and folds such a row from its whole stream until the stream passes its next snapshot
 * point and the row gets a sound snapshot again).
 */
export class ThreadStatusSnapshotPoints1764402500000 implements MigrationInterface {
  name = 'ThreadStatusSnapshotPoints1764402500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rm_conversations ADD COLUMN snapshot_version bigint CHECK (snapshot_version >= 0)`);
    await q.query(`ALTER TABLE rm_conversations ALTER COLUMN snapshot DROP NOT NULL`);
    // Checked on the rows there already (within the migration's transaction, which holds the
    // ADD COLUMN's exclusive lock until it commits).
    await q.query(`ALTER TABLE rm_conversations ADD CONSTRAINT rm_conversations_snapshot_point
      CHECK ((snapshot IS NULL) = (snapshot_version = 0) AND snapshot_version <= version
             AND (snapshot_version IS NOT NULL OR snapshot IS NOT NULL)) NOT VALID`);
    await q.query(`ALTER TABLE rm_conversations VALIDATE CONSTRAINT rm_conversations_snapshot_point`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The older code reads a snapshot at `version` in every row: start the read model again.
    await q.query(`TRUNCATE rm_conversations`);
    await q.query(
      `UPDATE projection_checkpoints SET position = '0-0', events = 0, updated_at = now() WHERE name = 'thread-status'`,
    );
    await q.query(`ALTER TABLE rm_conversations DROP CONSTRAINT rm_conversations_snapshot_point`);
    await q.query(`ALTER TABLE rm_conversations ALTER COLUMN snapshot SET NOT NULL`);
    await q.query(`ALTER TABLE rm_conversations DROP COLUMN snapshot_version`);
  }
}
