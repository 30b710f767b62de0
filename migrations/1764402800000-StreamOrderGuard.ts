import { MigrationInterface, QueryRunner } from 'typeorm';
import { APPEND_BATCH_BODIES, APPEND_BODIES } from './1764400500000-AppendFromCanonicalBodies';

/**
 * A stream's events read in version order in commit order, always. Readers follow the log by
 * (transaction_id, position), and a transaction takes its id at its first write, not at commit.
 * One that took its id, then waited (a batch for another stream's lock, an erasure between the
 * conversations it erases), could append to a stream after a younger transaction had appended to
 * it and committed: its events (older id, higher versions) would then read before the younger
 * one's (newer id, lower versions), and a reader that folds a stream in the order it reads it
 * would fold them out of order.
 *
 * The append functions now refuse such an append: when the stream's head was written by a
 * transaction younger than the appending one. Each stream's row keeps that transaction's id
 * (es_streams.head_tx, written with the head). NULL for a row last written before this migration:
 * an append already under way while it ran is not checked (`verify` names any stream that reads
 * out of order). An id the server has not handed out yet (head_tx at or past the snapshot's xmax:
 * rows restored from a logical dump of another cluster, whose ids mean nothing here) is not
 * taken for younger either: a younger writer has committed, so its id was handed out. The refusal is a
 * version conflict at the stream's current version (es_append_bodies: ES001, DETAIL = the
 * version; es_append_batch_bodies: {"conflict": the version}), the answers the code before this
 * migration already handles (it decides again and retries), so processes of that code keep
 * working while a deploy replaces them, with the same functions and grants. This code tells the
 * two apart (a conflict at a version its append expected is this refusal) and appends again at
 * once, alone, in a new transaction: younger than every committed one. A caller's own transaction
 * (an erasure, a retention run) gets a VersionConflict, rolls back and starts over.
 *
 * The functions are those of 1764400500000-AppendFromCanonicalBodies with the changes made at the
 * points named below (each asserted to apply as often as said). CREATE OR REPLACE keeps their
 * owner and grants; their SECURITY DEFINER and search_path (1764400700000-LeastPrivilege) are set
 * again. The check reads the row the append locks anyway.
 */
export class StreamOrderGuard1764402800000 implements MigrationInterface {
  name = 'StreamOrderGuard1764402800000';

  async up(q: QueryRunner): Promise<void> {
    // nullable, no default: the table is not rewritten
    await q.query(`ALTER TABLE es_streams ADD COLUMN IF NOT EXISTS head_tx xid8`);
    await q.query(orReplace(GUARDED_APPEND_BATCH_BODIES));
    await q.query(orReplace(GUARDED_APPEND_BODIES));
    await secure(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(orReplace(APPEND_BATCH_BODIES));
    await q.query(orReplace(APPEND_BODIES));
    await secure(q);
    await q.query(`ALTER TABLE es_streams DROP COLUMN head_tx`);
  }
}

const APPEND_FUNCTIONS = [
  'es_append_bodies(text, bigint, uuid[], text, text, text, text)',
  'es_append_batch_bodies(text[], bigint[], int[], uuid[], text, text[], text[], text[])',
];

async function secure(q: QueryRunner): Promise<void> {
  for (const fn of APPEND_FUNCTIONS) {
    await q.query(`ALTER FUNCTION ${fn} SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp`);
  }
}

type Edit = [anchor: string, by: string, times?: number];

/** `sql` with each edit's anchor, which must occur exactly `times` (once), replaced by its text. */
export const edited = (sql: string, edits: Edit[]): string =>
  edits.reduce((text, [anchor, by, times = 1]) => {
    const parts = text.split(anchor);
    if (parts.length !== times + 1)
      throw new Error(`StreamOrderGuard: not ${times} time(s) in the function: ${anchor}`);
    return parts.join(by);
  }, sql);

const orReplace = (sql: string): string => edited(sql, [['CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION']]);

const HEAD_IS_MINE = 'updated_at = now(), head_tx = pg_current_xact_id()';

const GUARDED_APPEND_BODIES = edited(APPEND_BODIES, [
  ['  v_head    text;\n', '  v_head    text;\n  v_head_tx xid8;\n'],
  [
    'SELECT version, head_hash INTO v_version, v_head FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;',
    'SELECT version, head_hash, head_tx INTO v_version, v_head, v_head_tx\n' +
      '      FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;',
    2, // the stream's row, and the one just made for a new stream
  ],
  // the version check: a head written by a younger transaction is a conflict at its version
  [
    '  IF NOT (p_expected = -1 OR p_expected = v_version OR (p_expected = -2 AND v_version > 0)) THEN',
    '  IF (v_head_tx > pg_current_xact_id() AND v_head_tx < pg_snapshot_xmax(pg_current_snapshot()))\n' +
      '     OR NOT (p_expected = -1 OR p_expected = v_version OR (p_expected = -2 AND v_version > 0)) THEN',
  ],
  ['head_hash = v_head, updated_at = now()', `head_hash = v_head, ${HEAD_IS_MINE}`],
]);

const GUARDED_APPEND_BATCH_BODIES = edited(APPEND_BATCH_BODIES, [
  // each stream locked: whether its head was written by a transaction younger than this one
  [
    'st_id text[]; st_version bigint[]; st_head text[]; st_dirty boolean[];',
    'st_id text[]; st_version bigint[]; st_head text[]; st_dirty boolean[]; st_younger boolean[];',
  ],
  [
    `  SELECT array_agg(stream_id), array_agg(version), array_agg(head_hash::text), array_agg(false)
    INTO st_id, st_version, st_head, st_dirty
    FROM (SELECT stream_id, version, head_hash FROM es_streams`,
    `  SELECT array_agg(stream_id), array_agg(version), array_agg(head_hash::text), array_agg(false), array_agg(younger)
    INTO st_id, st_version, st_head, st_dirty, st_younger
    FROM (SELECT stream_id, version, head_hash,
                 coalesce(head_tx > pg_current_xact_id() AND head_tx < pg_snapshot_xmax(pg_current_snapshot()), false)
                   AS younger
            FROM es_streams`,
  ],
  // the version check: such a stream takes none of this batch's appends, each a conflict at its version
  [
    '    IF NOT (p_expected[v_i] = -1 OR p_expected[v_i] = v_cur OR (p_expected[v_i] = -2 AND v_cur > 0)) THEN',
    '    IF st_younger[v_t]\n' +
      '       OR NOT (p_expected[v_i] = -1 OR p_expected[v_i] = v_cur OR (p_expected[v_i] = -2 AND v_cur > 0)) THEN',
  ],
  // the heads it writes: this transaction's
  ['head_hash = u.head, updated_at = now()', `head_hash = u.head, ${HEAD_IS_MINE}`],
]);
