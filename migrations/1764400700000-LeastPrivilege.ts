import { MigrationInterface, QueryRunner } from 'typeorm';
import { APPEND_BATCH_FUNCTION, APPEND_FUNCTION } from './1764400000000-EventStore';
import { ENSURE_APP_ROLE } from './privileges';

/** The functions the runtime appends through, with their argument types. */
const APPEND_FUNCTIONS = [
  'es_append_bodies(text, bigint, uuid[], text, text, text, text)',
  'es_append_batch_bodies(text[], bigint[], int[], uuid[], text, text[], text[], text[])',
  'es_idempotent_result(text, text)',
];

/**
 * Least privilege: the running service connects as a login granted the NOLOGIN group role
 * conversations_app, which may read the log but writes it only through the append functions.
 * These run as their owner (SECURITY DEFINER) with a pinned search_path (pg_temp last, so a
 * temporary table cannot stand in for es_streams). The grants themselves come from
 * migrations/privileges.ts, applied after every migration run (reconcilePrivileges).
 * The superseded es_append and es_append_batch go: no code calls them since
 * 1764400500000-AppendFromCanonicalBodies, and every function left is one more to secure.
 */
export class LeastPrivilege1764400700000 implements MigrationInterface {
  name = 'LeastPrivilege1764400700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ENSURE_APP_ROLE);
    await q.query(`DROP FUNCTION IF EXISTS es_append(text, bigint, jsonb, text, text, text, text)`);
    await q.query(`DROP FUNCTION IF EXISTS es_append_batch(jsonb, text)`);
    for (const fn of APPEND_FUNCTIONS) {
      await q.query(`ALTER FUNCTION ${fn} SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp`);
    }
    await q.query(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The role stays: it is cluster-wide, other databases may use it.
    for (const fn of APPEND_FUNCTIONS) await q.query(`ALTER FUNCTION ${fn} SECURITY INVOKER RESET search_path`);
    await q.query(APPEND_BATCH_FUNCTION);
    await q.query(APPEND_FUNCTION);
    await q.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC`);
  }
}
