import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access streams (`access-<tenant in lower case or *>-<shard>`) hold ContentAccessed events and
 * nothing else: the feed leaves them out, so nothing else may hide in them. NOT VALID as the
 * conversation check (1764400600000): it holds for every row from now on, without a scan.
 */
export const ACCESS_STREAM_CHECK = `stream_id NOT LIKE 'access-%'
  OR (type = 'ContentAccessed' AND stream_id ~ '^access-(\\*|[a-z0-9][a-z0-9._-]{0,63})-[0-9]{1,3}$')`;

/**
 * Who read what: the access entries' read model (rm_access, newest first by the time of the
 * read), the check on access streams, and the commit-order index of every other stream, which
 * the events feed walks so that a page never steps over access entries.
 */
export class AccessLog1764401300000 implements MigrationInterface {
  name = 'AccessLog1764401300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE es_events ADD CONSTRAINT es_events_access_stream CHECK (${ACCESS_STREAM_CHECK}) NOT VALID`,
    );
    // The predicate is written exactly as readAll's listedOnly clause, so the planner matches it.
    await q.query(
      `CREATE INDEX es_events_listed_commit_order ON es_events (transaction_id, position) ` +
        `WHERE stream_id NOT LIKE 'access-%'`,
    );
    await q.query(`
      CREATE TABLE rm_access (
        event_id          uuid PRIMARY KEY,
        accessed_at       timestamptz NOT NULL,
        key_id            uuid NOT NULL,
        role              text NOT NULL,
        tenant_id         text NOT NULL,
        route             text NOT NULL,
        conversation_ids  uuid[] NOT NULL,
        filter            jsonb NOT NULL,
        request_id        text NOT NULL,
        position          text NOT NULL
      )`);
    await q.query(`CREATE INDEX rm_access_time ON rm_access (accessed_at, event_id)`);
    await q.query(`CREATE INDEX rm_access_tenant ON rm_access (tenant_id, accessed_at, event_id)`);
    await q.query(`CREATE INDEX rm_access_key ON rm_access (key_id, accessed_at, event_id)`);
    await q.query(`CREATE INDEX rm_access_conversations ON rm_access USING gin (conversation_ids)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rm_access`);
    await q.query(`DROP INDEX es_events_listed_commit_order`);
    await q.query(`ALTER TABLE es_events DROP CONSTRAINT es_events_access_stream`);
  }
}
