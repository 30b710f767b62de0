import { MigrationInterface, QueryRunner } from 'typeorm';

/** Projection checkpoints and the read models derived from the event log. */
export class Projections1764400200000 implements MigrationInterface {
  name = 'Projections1764400200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projection_checkpoints (
        name        text PRIMARY KEY,
        position    text NOT NULL DEFAULT '0-0',
        events      bigint NOT NULL DEFAULT 0,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);

    // Thread status: one row per conversation, with the folded state (message content left out).
    await q.query(`
      CREATE TABLE rm_conversations (
        conversation_id        uuid PRIMARY KEY,
        tenant_id              text NOT NULL,
        subject_id             text NOT NULL,
        model_id               text NOT NULL,
        status                 text NOT NULL,
        active_leaf_message_id uuid,
        message_count          int NOT NULL,
        branch_count           int NOT NULL,
        redirection_count      int NOT NULL,
        open_risk_flags        int NOT NULL,
        ends                   jsonb NOT NULL,
        started_at             timestamptz NOT NULL,
        last_event_at          timestamptz,
        version                bigint NOT NULL,
        state                  jsonb NOT NULL
      )`);
    await q.query(`CREATE INDEX rm_conversations_tenant ON rm_conversations (tenant_id, started_at)`);

    await q.query(`
      CREATE TABLE rm_messages (
        conversation_id    uuid NOT NULL,
        message_id         uuid NOT NULL,
        parent_message_id  uuid,
        role               text NOT NULL,
        content            text NOT NULL,
        model_id           text,
        stop_reason        text,
        created_at         timestamptz NOT NULL,
        version            bigint NOT NULL,
        PRIMARY KEY (conversation_id, message_id)
      )`);

    await q.query(`
      CREATE TABLE rm_ends (
        end_event_id         uuid PRIMARY KEY,
        conversation_id      uuid NOT NULL,
        tenant_id            text NOT NULL,
        reason_code          text NOT NULL,
        initiator            text NOT NULL,
        model_id             text,
        policy_version       int NOT NULL,
        ended_at             timestamptz NOT NULL,
        ended_at_message_id  uuid NOT NULL,
        redirection_count    int NOT NULL,
        version              bigint NOT NULL,
        position             text NOT NULL,
        review_outcome       text,
        reviewed_at          timestamptz
      )`);
    for (const column of ['reason_code', 'initiator', 'model_id', 'tenant_id', 'policy_version', 'review_outcome']) {
      await q.query(`CREATE INDEX rm_ends_${column} ON rm_ends (${column}, ended_at, end_event_id)`);
    }
    await q.query(`CREATE INDEX rm_ends_time ON rm_ends (ended_at, end_event_id)`);
    await q.query(`CREATE INDEX rm_ends_conversation ON rm_ends (conversation_id)`);

    await q.query(`
      CREATE TABLE rm_blocked_ends (
        event_id              uuid PRIMARY KEY,
        conversation_id       uuid NOT NULL,
        tenant_id             text NOT NULL,
        initiator             text NOT NULL,
        proposed_reason_code  text NOT NULL,
        failed_guards         text[] NOT NULL,
        at_message_id         uuid NOT NULL,
        model_id              text,
        policy_version        int NOT NULL,
        attempted_at          timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX rm_blocked_ends_time ON rm_blocked_ends (attempted_at, event_id)`);
    await q.query(`CREATE INDEX rm_blocked_ends_guards ON rm_blocked_ends USING gin (failed_guards)`);
    await q.query(`CREATE INDEX rm_blocked_ends_model ON rm_blocked_ends (model_id, attempted_at, event_id)`);
    await q.query(
      `CREATE INDEX rm_blocked_ends_reason ON rm_blocked_ends (proposed_reason_code, attempted_at, event_id)`,
    );

    await q.query(`
      CREATE TABLE rm_daily_ends (
        day        date NOT NULL,
        tenant_id  text NOT NULL,
        dimension  text NOT NULL CHECK (dimension IN ('reasonCode', 'modelId')),
        key        text NOT NULL,
        ends       bigint NOT NULL,
        PRIMARY KEY (day, tenant_id, dimension, key)
      )`);
    await q.query(`
      CREATE TABLE rm_daily_started (
        day        date NOT NULL,
        tenant_id  text NOT NULL,
        started    bigint NOT NULL,
        PRIMARY KEY (day, tenant_id)
      )`);

    await q.query(`
      CREATE TABLE rm_reviews (
        review_id        uuid NOT NULL,
        end_event_id     uuid NOT NULL,
        conversation_id  uuid NOT NULL,
        tenant_id        text NOT NULL,
        reviewer_id      text NOT NULL,
        outcome          text NOT NULL,
        new_reason_code  text,
        error_type       text,
        note             text,
        reviewed_at      timestamptz NOT NULL,
        PRIMARY KEY (conversation_id, review_id)
      )`);
    await q.query(`CREATE INDEX rm_reviews_end ON rm_reviews (end_event_id, reviewed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'rm_reviews',
      'rm_daily_started',
      'rm_daily_ends',
      'rm_blocked_ends',
      'rm_ends',
      'rm_messages',
      'rm_conversations',
      'projection_checkpoints',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
