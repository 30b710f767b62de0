import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * /v1/audit/stats/ends?modelId= counts the conversations started with that model (the daily
 * counts know tenants only): find them in rm_conversations without a scan. Neither column ever
 * changes after the start, so the thread-status projection's updates stay HOT.
 */
export class ConversationsByModel1764401500000 implements MigrationInterface {
  name = 'ConversationsByModel1764401500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX rm_conversations_model ON rm_conversations (model_id, started_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX rm_conversations_model`);
  }
}
