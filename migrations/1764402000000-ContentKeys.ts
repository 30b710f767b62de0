import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Crypto-shredding (issue 14). `content_keys`: one data key per conversation (and a new one
 * after each erasure of it), stored only wrapped by the master key that never enters the
 * database; destroying a key nulls its wrapped bytes. A guard trigger (ALWAYS, owned by the
 * owner) lets an update only destroy a live key or re-wrap it under another master key: a
 * destroyed key can never come back, and nothing names another conversation, tenant or subject.
 *
 * `subject_holds`: open and released legal holds per tenant and subject, written in the same
 * transaction as their events; erasure and retention lock the subject and read it.
 *
 * The subject index finds a subject's conversations in the log itself (their ConversationStarted),
 * so erasure never depends on a projection's lag.
 */
export class ContentKeys1764402000000 implements MigrationInterface {
  name = 'ContentKeys1764402000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE content_keys (
        key_id           uuid PRIMARY KEY,
        conversation_id  uuid NOT NULL,
        tenant_id        text NOT NULL,
        subject_id       text NOT NULL,
        wrapped_key      bytea,
        master_key_id    text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        destroyed_at     timestamptz,
        erasure_id       uuid,
        CONSTRAINT content_keys_live_or_destroyed CHECK (
          (destroyed_at IS NULL AND wrapped_key IS NOT NULL AND master_key_id IS NOT NULL AND erasure_id IS NULL)
          OR (destroyed_at IS NOT NULL AND wrapped_key IS NULL AND master_key_id IS NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX content_keys_live ON content_keys (conversation_id) WHERE destroyed_at IS NULL`);
    await q.query(`CREATE INDEX content_keys_subject ON content_keys (tenant_id, subject_id)`);
    await q.query(`CREATE INDEX content_keys_master ON content_keys (master_key_id) WHERE destroyed_at IS NULL`);
    await q.query(`
      CREATE FUNCTION content_keys_guard() RETURNS trigger LANGUAGE plpgsql
      SET search_path = pg_catalog, public, pg_temp AS $$
      BEGIN
        IF (NEW.key_id, NEW.conversation_id, NEW.tenant_id, NEW.subject_id, NEW.created_at)
           IS DISTINCT FROM (OLD.key_id, OLD.conversation_id, OLD.tenant_id, OLD.subject_id, OLD.created_at) THEN
          RAISE EXCEPTION 'content key %: only its wrapping or its destruction may change', OLD.key_id
            USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.destroyed_at IS NOT NULL THEN
          RAISE EXCEPTION 'content key % is destroyed: a destruction is final', OLD.key_id
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(
      `CREATE TRIGGER content_keys_guard BEFORE UPDATE ON content_keys FOR EACH ROW ` +
        `EXECUTE FUNCTION content_keys_guard()`,
    );
    await q.query(`ALTER TABLE content_keys ENABLE ALWAYS TRIGGER content_keys_guard`);
    await q.query(`REVOKE ALL ON FUNCTION content_keys_guard() FROM PUBLIC`);

    await q.query(`
      CREATE TABLE subject_holds (
        hold_id      uuid PRIMARY KEY,
        tenant_id    text NOT NULL,
        subject_id   text NOT NULL,
        reason       text NOT NULL,
        placed_at    timestamptz NOT NULL,
        placed_by    text NOT NULL,
        released_at  timestamptz,
        released_by  text
      )`);
    await q.query(`CREATE INDEX subject_holds_open ON subject_holds (tenant_id, subject_id) WHERE released_at IS NULL`);

    await q.query(
      `CREATE INDEX es_events_subject ON es_events ((metadata->>'tenantId'), (data->>'subjectId'))
        WHERE type = 'ConversationStarted'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX es_events_subject`);
    await q.query(`DROP TABLE subject_holds`);
    await q.query(`DROP TABLE content_keys`);
    await q.query(`DROP FUNCTION content_keys_guard()`);
  }
}
