import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys get a lifecycle: a named holder (separation of duties names people), an expiry,
 * a coarse last use, and who created and revoked them. Creating and revoking are also events
 * (streams `apikey-<id>`), written in the same transaction as the row.
 */
export class ApiKeyLifecycle1764400800000 implements MigrationInterface {
  name = 'ApiKeyLifecycle1764400800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `
      ALTER TABLE api_keys
        ADD COLUMN holder        text CHECK (holder IS NULL OR (length(holder) BETWEEN 1 AND 200 ` +
        `AND holder = btrim(holder))),
        ADD COLUMN expires_at    timestamptz,
        ADD COLUMN last_used_at  timestamptz,
        ADD COLUMN created_by    text,
        ADD COLUMN revoked_by    text,
        ADD CONSTRAINT api_keys_expires_after_created CHECK (expires_at IS NULL OR expires_at > created_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `
      ALTER TABLE api_keys
        DROP CONSTRAINT api_keys_expires_after_created,
        DROP COLUMN holder, DROP COLUMN expires_at, DROP COLUMN last_used_at, ` +
        `DROP COLUMN created_by, DROP COLUMN revoked_by`,
    );
  }
}
