import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-tenant retention (issue 14): content is kept `days` after a conversation's last event,
 * then its content key is destroyed by the retention job. One row per tenant that ever had a
 * setting, written in the transaction that appends its `RetentionSet` event to the tenant's
 * retention stream (the event is the record; the row is what the job reads). `days` NULL: off
 * (turned off after having been on); no row: off, the default.
 */
export class RetentionSettings1764402300000 implements MigrationInterface {
  name = 'RetentionSettings1764402300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE retention_settings (
        tenant_id  text PRIMARY KEY,
        days       integer CHECK (days BETWEEN 1 AND 36500),
        set_at     timestamptz NOT NULL,
        set_by     text NOT NULL,
        event_id   uuid NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE retention_settings`);
  }
}
