import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The newest snapshot of a stream's folded state per schema version, so that a command folds only
 * the events after it. A cache, never the record: written best-effort after an append (outside
 * its transaction), read only by code of its schema version and while `event_hash` is still the
 * hash of the event at `version` (a snapshot of another chain, say of a restored log, is never
 * used). One row per schema version: two versions of the code running side by side during a
 * deployment do not overwrite each other's. `bytes`: the stream's data and metadata as JSON up
 * to `version`, for the size limit.
 */
export class StreamSnapshots1764401100000 implements MigrationInterface {
  name = 'StreamSnapshots1764401100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE es_snapshots (
        stream_id       text COLLATE "C" NOT NULL,
        schema_version  integer NOT NULL,
        version         bigint NOT NULL CHECK (version > 0),
        event_hash      char(64) NOT NULL,
        bytes           bigint NOT NULL CHECK (bytes >= 0),
        state           jsonb NOT NULL,
        taken_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (stream_id, schema_version)
      )`);
    // Large states compress better and faster with lz4, where the server has it.
    await q.query(`
      DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
          ALTER TABLE es_snapshots ALTER COLUMN state SET COMPRESSION lz4;
        END IF;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE es_snapshots`);
  }
}
