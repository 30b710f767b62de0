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
 * New append functions refuse such an append: es_append_in_order and es_append_batch_in_order,
 * those of 1764400500000-AppendFromCanonicalBodies (same arguments and answers) with the check
 * added where named below (each change asserted to apply as often as said). They refuse an append
 * when the stream's head was written by a transaction younger than the appending one. Each
 * stream's row keeps that transaction's id (es_streams.head_tx, written with the head).
 * es_append_in_order raises SQLSTATE ES003 (DETAIL = the current version); es_append_batch_in_order
 * answers {"reordered": the current version} for that append (the batch's others go on). Either
 * way the append goes again in a new transaction, younger than every committed one (the store does
 * it; a caller's own transaction rolls back and starts over, as on a version conflict). The check
 * reads the row the append locks anyway.
 *
 * New names, as 1764400500000 did: es_append_bodies and es_append_batch_bodies stay as they were,
 * so that processes still running the previous code keep appending (with the previous answers)
 * while a deploy replaces them; a later migration drops them once no such process is left. Their
 * appends leave head_tx as it was (NULL for a row no new function has written): until the last
 * such process is gone, and for heads written before this migration, the check may pass where it
 * should not, as everything did before it.
 */
export class StreamOrderGuard1764402700000 implements MigrationInterface {
  name = 'StreamOrderGuard1764402700000';

  async up(q: QueryRunner): Promise<void> {
    // nullable, no default: the table is not rewritten
    await q.query(`ALTER TABLE es_streams ADD COLUMN head_tx xid8`);
    await q.query(APPEND_BATCH_IN_ORDER);
    await q.query(APPEND_IN_ORDER);
    for (const fn of IN_ORDER_FUNCTIONS) {
      // as 1764400700000-LeastPrivilege did for the others; migrations/privileges.ts grants EXECUTE
      await q.query(`ALTER FUNCTION ${fn} SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp`);
      await q.query(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const fn of IN_ORDER_FUNCTIONS) await q.query(`DROP FUNCTION ${fn}`);
    await q.query(`ALTER TABLE es_streams DROP COLUMN head_tx`);
  }
}

const IN_ORDER_FUNCTIONS = [
  'es_append_in_order(text, bigint, uuid[], text, text, text, text)',
  'es_append_batch_in_order(text[], bigint[], int[], uuid[], text, text[], text[], text[])',
];

type Edit = [anchor: string, by: string, times?: number];

/** `sql` with each edit's anchor, which must occur exactly `times` (once), replaced by its text. */
const edited = (sql: string, edits: Edit[]): string =>
  edits.reduce((text, [anchor, by, times = 1]) => {
    const parts = text.split(anchor);
    if (parts.length !== times + 1)
      throw new Error(`StreamOrderGuard: not ${times} time(s) in the function: ${anchor}`);
    return parts.join(by);
  }, sql);

const HEAD_IS_MINE = 'updated_at = now(), head_tx = pg_current_xact_id()';

const APPEND_IN_ORDER = edited(APPEND_BODIES, [
  ['es_append_bodies', 'es_append_in_order', 2], // its name, and in its messages
  ['  v_head    text;\n', '  v_head    text;\n  v_head_tx xid8;\n'],
  [
    'SELECT version, head_hash INTO v_version, v_head FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;',
    'SELECT version, head_hash, head_tx INTO v_version, v_head, v_head_tx\n' +
      '      FROM es_streams WHERE stream_id = p_stream_id FOR UPDATE;',
    2, // the stream's row, and the one just made for a new stream
  ],
  // after the version check
  [
    '\n\n  FOR v_i IN 1 .. v_n LOOP\n',
    `
  -- Its head written by a younger transaction: appended now, it would read out of order.
  IF v_head_tx > pg_current_xact_id() THEN
    RAISE EXCEPTION 'stream % was appended to by a younger transaction: append again in a new one', p_stream_id
      USING ERRCODE = 'ES003', DETAIL = v_version::text;
  END IF;

  FOR v_i IN 1 .. v_n LOOP
`,
  ],
  ['head_hash = v_head, updated_at = now()', `head_hash = v_head, ${HEAD_IS_MINE}`],
]);

const APPEND_BATCH_IN_ORDER = edited(APPEND_BATCH_BODIES, [
  ['es_append_batch_bodies', 'es_append_batch_in_order', 2],
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
    FROM (SELECT stream_id, version, head_hash, coalesce(head_tx > pg_current_xact_id(), false) AS younger
            FROM es_streams`,
  ],
  // after the version check: such a stream takes none of this batch's appends
  [
    '    v_head := st_head[v_t];\n',
    `    IF st_younger[v_t] THEN
      o_kind[v_i] := 'reordered';
      o_result[v_i] := jsonb_build_object('reordered', v_cur);
      IF o_holds[v_i] THEN v_released := v_released + 1; END IF;
      CONTINUE;
    END IF;
    v_head := st_head[v_t];\n`,
  ],
  // its idempotency key, if it took one, is freed as a conflict's is
  ["WHERE u.holds AND u.kind = 'conflict' AND", "WHERE u.holds AND u.kind IN ('conflict', 'reordered') AND"],
  // the heads it writes: this transaction's
  ['head_hash = u.head, updated_at = now()', `head_hash = u.head, ${HEAD_IS_MINE}`],
]);
