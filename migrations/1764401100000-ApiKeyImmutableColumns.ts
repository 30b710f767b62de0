import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a key is never changes after its creation: its id, hash, role, tenant, holder, label,
 * expiry and who created it. The runtime may UPDATE api_keys (last use, revocation), and before
 * this it could also turn a writer key into an all-tenant admin one, swap a key's hash for one
 * it knows, or lift an expiry, with nothing recorded: the key's stream (`ApiKeyCreated`) kept
 * saying otherwise. A trigger, so it holds for every role; a new right is a new key.
 * (Revocation columns are guarded apart: revoked_at and revoked_by may still be written.)
 */
export class ApiKeyImmutableColumns1764401100000 implements MigrationInterface {
  name = 'ApiKeyImmutableColumns1764401100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION api_keys_immutable() RETURNS trigger LANGUAGE plpgsql
      SET search_path = pg_catalog, public, pg_temp AS $$
      BEGIN
        IF (NEW.id, NEW.key_hash, NEW.role, NEW.tenant_id, NEW.holder, NEW.label, NEW.expires_at, NEW.created_at, NEW.created_by)
           IS DISTINCT FROM
           (OLD.id, OLD.key_hash, OLD.role, OLD.tenant_id, OLD.holder, OLD.label, OLD.expires_at, OLD.created_at, OLD.created_by) THEN
          RAISE EXCEPTION 'api key %: only its last use and its revocation may change; issue a new key instead', OLD.id
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER api_keys_immutable BEFORE UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION api_keys_immutable()`);
    // ALWAYS: also under session_replication_role = replica.
    await q.query(`ALTER TABLE api_keys ENABLE ALWAYS TRIGGER api_keys_immutable`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER api_keys_immutable ON api_keys`);
    await q.query(`DROP FUNCTION api_keys_immutable`);
  }
}
