import { MigrationInterface, QueryRunner } from 'typeorm';

const TABLES = ['tlog_origin', 'tlog_leaves', 'tlog_nodes', 'tlog_keys', 'tlog_checkpoints'];

/**
 * The transparency log (RFC 6962 Merkle tree over every event in commit order) and its signed
 * checkpoints. Evidence, like es_events: the runtime may add rows and read them, never change
 * or remove one; triggers enabled ALWAYS refuse UPDATE, DELETE and TRUNCATE for every role
 * (a projections rebuild never empties them).
 * - tlog_origin: the log's name (LOG_ORIGIN), fixed by its first signer.
 * - tlog_leaves: each event's leaf index, assigned by the sequencer in commit order; keyed by the
 *   event's place in that order (es_events' primary key), so that it is written in key order:
 *   the sequencer costs the appends as little as it can. The tree's size is its level-0 nodes'.
 * - tlog_nodes: every perfect, aligned subtree (level L, index i covers leaves [i*2^L, (i+1)*2^L)),
 *   level 0 being the leaf hashes: a root or a proof is O(log n) primary-key reads in one query.
 * - tlog_keys: the public part of each signing key, from the tree size it took over.
 * - tlog_checkpoints: each signed checkpoint, the note byte-exact, one per tree size.
 */
export class TransparencyLog1764401200000 implements MigrationInterface {
  name = 'TransparencyLog1764401200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tlog_origin (
        id          boolean PRIMARY KEY DEFAULT true CHECK (id),
        origin      text NOT NULL CHECK (origin ~ '^[^[:space:]+]+$' AND length(origin) <= 255),
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE tlog_leaves (
        transaction_id  xid8 NOT NULL,
        position        bigint NOT NULL,
        leaf_index      bigint NOT NULL CHECK (leaf_index >= 0),
        PRIMARY KEY (transaction_id, position)
      )`);
    await q.query(`
      CREATE TABLE tlog_nodes (
        level  smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
        index  bigint NOT NULL CHECK (index >= 0),
        hash   bytea NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, index)
      )`);
    await q.query(`
      CREATE TABLE tlog_keys (
        verifier_key    text PRIMARY KEY,
        public_key      bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
        from_tree_size  bigint NOT NULL CHECK (from_tree_size >= 0),
        registered_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE tlog_checkpoints (
        tree_size     bigint PRIMARY KEY CHECK (tree_size >= 0),
        root_hash     bytea NOT NULL CHECK (length(root_hash) = 32),
        signed_at     timestamptz NOT NULL DEFAULT now(),
        note          text NOT NULL,
        verifier_key  text NOT NULL REFERENCES tlog_keys (verifier_key)
      )`);
    await q.query(`CREATE INDEX tlog_checkpoints_by_key ON tlog_checkpoints (verifier_key, tree_size)`);

    await q.query(`
      CREATE FUNCTION tlog_append_only() RETURNS trigger LANGUAGE plpgsql
      SET search_path = pg_catalog, public, pg_temp AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`REVOKE ALL ON FUNCTION tlog_append_only() FROM PUBLIC`);
    for (const table of TABLES) {
      await q.query(
        `CREATE TRIGGER ${table}_no_update BEFORE UPDATE OR DELETE ON ${table} ` +
          `FOR EACH ROW EXECUTE FUNCTION tlog_append_only()`,
      );
      await q.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} ` +
          `FOR EACH STATEMENT EXECUTE FUNCTION tlog_append_only()`,
      );
      await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${table}_no_update`);
      await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${table}_no_truncate`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [...TABLES].reverse()) await q.query(`DROP TABLE ${table}`);
    await q.query(`DROP FUNCTION tlog_append_only()`);
  }
}
