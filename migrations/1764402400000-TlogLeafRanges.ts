import { MigrationInterface, QueryRunner } from 'typeorm';

/** Leaves per tlog_ranges row at most (RANGE_LEAVES in libs/transparency). */
const RANGE_LEAVES = 1024;

/**
 * The transparency log's leaves as ranges (issue 11: the sequencer's cost to the appends). Before,
 * every event cost the sequencer two rows: its leaf index in tlog_leaves and its leaf hash as a
 * level-0 node in tlog_nodes. Now a row of tlog_ranges holds up to 1,024 consecutive leaves: the
 * first leaf's index, their count, the commit-order places of their first and last events, and
 * their leaf hashes side by side (32 bytes each, stored uncompressed: hashes do not compress).
 *
 * Leaves are assigned in commit order, (transaction_id, position), and a sequenced range of that
 * order never gains an event (the sequencer reads only below every open transaction), so an
 * event's leaf index is its range's first leaf plus the events before it in the range: one
 * bounded index range count. The leaf hashes stay stored apart from es_events, as evidence of the
 * log as it was sequenced (verify --checkpoint compares the recomputed tree against them).
 *
 * Existing trees move over in this migration: their tlog_leaves rows and level-0 nodes become
 * ranges of 1,024 leaves (refused if they do not form one contiguous tree), then tlog_leaves is
 * dropped and the level-0 nodes removed (the same hashes, now in tlog_ranges). Append-only like
 * the other tlog tables (tlog_append_only, enabled ALWAYS).
 */
export class TlogLeafRanges1764402400000 implements MigrationInterface {
  name = 'TlogLeafRanges1764402400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tlog_ranges (
        first_leaf            bigint PRIMARY KEY CHECK (first_leaf >= 0),
        leaves                integer NOT NULL CHECK (leaves BETWEEN 1 AND ${RANGE_LEAVES}),
        first_transaction_id  xid8 NOT NULL,
        first_position        bigint NOT NULL,
        last_transaction_id   xid8 NOT NULL,
        last_position         bigint NOT NULL,
        hashes                bytea NOT NULL CHECK (length(hashes) = 32 * leaves),
        UNIQUE (first_transaction_id, first_position)
      )`);
    await q.query(`ALTER TABLE tlog_ranges ALTER COLUMN hashes SET STORAGE EXTERNAL`);
    await q.query(
      `CREATE TRIGGER tlog_ranges_no_update BEFORE UPDATE OR DELETE ON tlog_ranges ` +
        `FOR EACH ROW EXECUTE FUNCTION tlog_append_only()`,
    );
    await q.query(
      `CREATE TRIGGER tlog_ranges_no_truncate BEFORE TRUNCATE ON tlog_ranges ` +
        `FOR EACH STATEMENT EXECUTE FUNCTION tlog_append_only()`,
    );
    await q.query(`ALTER TABLE tlog_ranges ENABLE ALWAYS TRIGGER tlog_ranges_no_update`);
    await q.query(`ALTER TABLE tlog_ranges ENABLE ALWAYS TRIGGER tlog_ranges_no_truncate`);

    const [counts] = await q.query(`
      SELECT (SELECT count(*) FROM tlog_leaves)::text AS leaves,
             (SELECT count(*) FROM tlog_nodes WHERE level = 0)::text AS nodes,
             (SELECT coalesce(max(leaf_index) + 1, 0) FROM tlog_leaves)::text AS size,
             (SELECT count(*) FROM tlog_leaves l
                JOIN tlog_nodes n ON n.level = 0 AND n.index = l.leaf_index)::text AS matched`);
    if (new Set([counts.leaves, counts.nodes, counts.size, counts.matched]).size !== 1) {
      throw new Error(
        `the stored tree is not one contiguous tree (${counts.leaves} leaf rows, ${counts.nodes} leaf nodes, ` +
          `size ${counts.size}, ${counts.matched} matched): not moved; repair it before this migration`,
      );
    }
    await q.query(`
      INSERT INTO tlog_ranges (first_leaf, leaves, first_transaction_id, first_position, last_transaction_id,
                               last_position, hashes)
      SELECT min(l.leaf_index), count(*)::int,
             (array_agg(l.transaction_id ORDER BY l.leaf_index))[1], (array_agg(l.position ORDER BY l.leaf_index))[1],
             (array_agg(l.transaction_id ORDER BY l.leaf_index DESC))[1],
             (array_agg(l.position ORDER BY l.leaf_index DESC))[1],
             string_agg(n.hash, ''::bytea ORDER BY l.leaf_index)
        FROM tlog_leaves l JOIN tlog_nodes n ON n.level = 0 AND n.index = l.leaf_index
       GROUP BY l.leaf_index / ${RANGE_LEAVES}`);
    await q.query(`DROP TABLE tlog_leaves`);
    await q.query(`ALTER TABLE tlog_nodes DISABLE TRIGGER tlog_nodes_no_update`);
    await q.query(`DELETE FROM tlog_nodes WHERE level = 0`);
    await q.query(`ALTER TABLE tlog_nodes ENABLE ALWAYS TRIGGER tlog_nodes_no_update`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tlog_leaves (
        transaction_id  xid8 NOT NULL,
        position        bigint NOT NULL,
        leaf_index      bigint NOT NULL CHECK (leaf_index >= 0),
        PRIMARY KEY (transaction_id, position)
      )`);
    await q.query(`
      INSERT INTO tlog_leaves (transaction_id, position, leaf_index)
      SELECT e.transaction_id, e.position,
             r.first_leaf + row_number() OVER (PARTITION BY r.first_leaf ORDER BY e.transaction_id, e.position) - 1
        FROM tlog_ranges r
        JOIN es_events e ON (e.transaction_id, e.position) >= (r.first_transaction_id, r.first_position)
                        AND (e.transaction_id, e.position) <= (r.last_transaction_id, r.last_position)`);
    await q.query(`
      INSERT INTO tlog_nodes (level, index, hash)
      SELECT 0, r.first_leaf + k, substring(r.hashes FROM k * 32 + 1 FOR 32)
        FROM tlog_ranges r, generate_series(0, r.leaves - 1) AS k`);
    for (const suffix of ['no_update', 'no_truncate']) {
      const event = suffix === 'no_update' ? 'UPDATE OR DELETE' : 'TRUNCATE';
      const each = suffix === 'no_update' ? 'ROW' : 'STATEMENT';
      await q.query(
        `CREATE TRIGGER tlog_leaves_${suffix} BEFORE ${event} ON tlog_leaves ` +
          `FOR EACH ${each} EXECUTE FUNCTION tlog_append_only()`,
      );
      await q.query(`ALTER TABLE tlog_leaves ENABLE ALWAYS TRIGGER tlog_leaves_${suffix}`);
    }
    await q.query(`DROP TABLE tlog_ranges`);
  }
}
