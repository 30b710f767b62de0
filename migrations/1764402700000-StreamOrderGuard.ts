import { MigrationInterface, QueryRunner } from 'typeorm';
import { APPEND_BATCH_BODIES, APPEND_BODIES } from './1764400500000-AppendFromCanonicalBodies';
import { APPEND_FUNCTIONS } from './1764400700000-LeastPrivilege';

/**
 * A stream's events read in version order in commit order, always. Readers follow the log by
 * (transaction_id, position), and a transaction takes its id at its first write, not at commit.
 * One that took its id, then waited (a batch for another stream's lock, an erasure between the
 * conversations it erases), could append to a stream after a younger transaction had appended to
 * it and committed: its events (older id, higher versions) would then read before the younger
 * one's (newer id, lower versions), and a reader that folds a stream in the order it reads it
 * would fold them out of order.
 *
 * Both append functions now refuse such an append: when the stream's head event was written by
 * a transaction younger than the appending one. es_append_bodies raises SQLSTATE ES003 (DETAIL =
 * the current version); es_append_batch_bodies answers {"reordered": the current version} for that
 * append (the batch's others go on). Either way the append goes again in a new transaction, whose
 * id is younger than every committed one (the store does it; a caller's own transaction rolls back
 * and starts over, as on a version conflict). One index probe on es_events (stream_id,
 * stream_version) per stream appended to.
 *
 * The functions are those of 1764400500000-AppendFromCanonicalBodies with the check added at the
 * points named below (each asserted to occur once); CREATE OR REPLACE keeps their owner and
 * grants, and their SECURITY DEFINER and search_path (1764400700000-LeastPrivilege) are set again.
 */
export class StreamOrderGuard1764402700000 implements MigrationInterface {
  name = 'StreamOrderGuard1764402700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(orReplace(GUARDED_APPEND_BATCH_BODIES));
    await q.query(orReplace(GUARDED_APPEND_BODIES));
    await secure(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(orReplace(APPEND_BATCH_BODIES));
    await q.query(orReplace(APPEND_BODIES));
    await secure(q);
  }
}

const orReplace = (sql: string): string => once(sql, 'CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION');

async function secure(q: QueryRunner): Promise<void> {
  for (const fn of APPEND_FUNCTIONS.filter((f) => f.startsWith('es_append'))) {
    await q.query(`ALTER FUNCTION ${fn} SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp`);
  }
}

/** `text` with `anchor`, which must occur exactly once, replaced by `by`. */
function once(text: string, anchor: string, by: string): string {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0)
    throw new Error(`StreamOrderGuard: anchor not found once: ${anchor}`);
  return text.slice(0, at) + by + text.slice(at + anchor.length);
}

const CHECK_SINGLE = `
  -- Its head written by a younger transaction: appended now, it would read out of order.
  IF v_version > 0 AND (SELECT transaction_id FROM es_events
                         WHERE stream_id = p_stream_id AND stream_version = v_version) > pg_current_xact_id() THEN
    RAISE EXCEPTION 'stream % was appended to by a younger transaction: append again in a new one', p_stream_id
      USING ERRCODE = 'ES003', DETAIL = v_version::text;
  END IF;
`;

const GUARDED_APPEND_BODIES = once(
  APPEND_BODIES,
  `\n\n  FOR v_i IN 1 .. v_n LOOP\n`,
  `\n${CHECK_SINGLE}\n  FOR v_i IN 1 .. v_n LOOP\n`,
);

const GUARDED_APPEND_BATCH_BODIES = [
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
                 coalesce((SELECT e.transaction_id > pg_current_xact_id() FROM es_events e
                            WHERE e.stream_id = es_streams.stream_id AND e.stream_version = es_streams.version),
                          false) AS younger
            FROM es_streams`,
  ],
  // after the version check: such a stream takes none of this batch's appends
  [
    `    v_head := st_head[v_t];\n`,
    `    IF st_younger[v_t] THEN
      o_kind[v_i] := 'reordered';
      o_result[v_i] := jsonb_build_object('reordered', v_cur);
      IF o_holds[v_i] THEN v_released := v_released + 1; END IF;
      CONTINUE;
    END IF;
    v_head := st_head[v_t];\n`,
  ],
  // its idempotency key, if it took one, is freed as a conflict's is
  [`WHERE u.holds AND u.kind = 'conflict' AND`, `WHERE u.holds AND u.kind IN ('conflict', 'reordered') AND`],
].reduce((sql, [anchor, by]) => once(sql, anchor, by), APPEND_BATCH_BODIES);
