import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The events feed and its SSE form of a tenant's key read that tenant's events in commit order,
 * filtered in SQL: this index walks them without touching other tenants' rows, so a tenant's
 * poll costs its own events, not the whole log's.
 */
export class FeedByTenant1764400900000 implements MigrationInterface {
  name = 'FeedByTenant1764400900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX es_events_tenant_commit_order ON es_events ((metadata->>'tenantId'), transaction_id, position)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX es_events_tenant_commit_order`);
  }
}
