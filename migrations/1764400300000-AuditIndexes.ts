import { MigrationInterface, QueryRunner } from 'typeorm';

/** Compliance re-checks every end from the log: find ConversationEnded events without a scan. */
export class AuditIndexes1764400300000 implements MigrationInterface {
  name = 'AuditIndexes1764400300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX es_events_conversation_ended ON es_events (position) WHERE type = 'ConversationEnded'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX es_events_conversation_ended`);
  }
}
