import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-tenant retention (issue 14): content is kept `days` after a conversation's last event,
 * then its content key is destroyed by the retention job. One row per tenant that ever had a
 * setting, written in the transaction that appends its `RetentionSet` event to the tenant's
 * retention stream (the event is the record; the row is what the job reads). `days` NULL: off
 * (turned off after having been on); no row: off, the default. `last_run_at`: when the job last
 * started a run for the tenant (processes sharing a schedule skip a tenant run less than an
 * interval ago).
 *
 * The job finds a tenant's due conversations by walking its live content keys in conversation
 * order (keyset pages): the partial index keeps each page one range scan, however many keys the
 * tenant's erased conversations left behind.
 */
export class RetentionSettings1764402300000 implements MigrationInterface {
  name = 'RetentionSettings1764402300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE retention_settings (
        tenant_id    text PRIMARY KEY,
        days         integer CHECK (days BETWEEN 1 AND 36500),
        set_at       timestamptz NOT NULL,
        set_by       text NOT NULL,
        event_id     uuid NOT NULL,
        last_run_at  timestamptz
      )`);
    await q.query(
      `CREATE INDEX content_keys_tenant_live ON content_keys (tenant_id, conversation_id) WHERE destroyed_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX content_keys_tenant_live`);
    await q.query(`DROP TABLE retention_settings`);
  }
}
