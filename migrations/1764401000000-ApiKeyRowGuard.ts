import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The runtime may UPDATE api_keys (to mark a revocation and a key's last use), so without a
 * guard it could also clear a revocation, widen a key's role or tenant, or lift its expiry. A
 * trigger, enabled ALWAYS and owned by the owner (the runtime can neither disable nor replace
 * it), lets an update change `last_used_at`, and `revoked_at`/`revoked_by` only from unrevoked
 * to revoked; everything else about a key is fixed at its creation.
 */
export class ApiKeyRowGuard1764401000000 implements MigrationInterface {
  name = 'ApiKeyRowGuard1764401000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `
      CREATE FUNCTION api_keys_guard() RETURNS trigger LANGUAGE plpgsql
      SET search_path = pg_catalog, public, pg_temp AS $$
      BEGIN
        IF (NEW.id, NEW.key_hash, NEW.role, NEW.tenant_id, NEW.label, NEW.holder, NEW.expires_at, ` +
        `NEW.created_at, NEW.created_by)
           IS DISTINCT FROM
           (OLD.id, OLD.key_hash, OLD.role, OLD.tenant_id, OLD.label, OLD.holder, OLD.expires_at, ` +
        `OLD.created_at, OLD.created_by) THEN
          RAISE EXCEPTION 'api key %: only its revocation and last use may change', OLD.id ` +
        `USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.revoked_at IS NOT NULL AND (NEW.revoked_at, NEW.revoked_by) ` +
        `IS DISTINCT FROM (OLD.revoked_at, OLD.revoked_by) THEN
          RAISE EXCEPTION 'api key % is revoked: a revocation is final', OLD.id USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.revoked_at IS NULL AND NEW.revoked_by IS NOT NULL THEN
          RAISE EXCEPTION 'api key %: revoked_by without revoked_at', OLD.id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`,
    );
    await q.query(
      `CREATE TRIGGER api_keys_guard BEFORE UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION api_keys_guard()`,
    );
    // ALWAYS: also under session_replication_role = replica.
    await q.query(`ALTER TABLE api_keys ENABLE ALWAYS TRIGGER api_keys_guard`);
    await q.query(`REVOKE ALL ON FUNCTION api_keys_guard() FROM PUBLIC`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER api_keys_guard ON api_keys`);
    await q.query(`DROP FUNCTION api_keys_guard()`);
  }
}
