import { MigrationInterface, QueryRunner } from 'typeorm';

/** `conversation-` then a UUID in lower case, the only spelling the service writes. */
export const CONVERSATION_STREAM_ID_CHECK = `stream_id NOT LIKE 'conversation-%'
  OR stream_id ~ '^conversation-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`;

/**
 * The database refuses a conversation stream id that is not `conversation-` + a lower-case
 * UUID, on both tables that name streams, whatever writes them (every append function, the
 * owner by hand). `conversation-ABC…` and `conversation-abc…` were two streams folded into one
 * conversation by the uuid columns of the read models: a cross-tenant leak.
 *
 * NOT VALID, deliberately, and never validated here: the constraint holds for every row
 * inserted or updated from now on, but rows already there are not checked. A database that met
 * the attack (or a client that sent upper-case ids) holds such streams, and they can never be
 * rewritten: es_events is append-only, and the hash of every event covers its stream id, so
 * renaming a stream would break its chain. Validating would then fail this migration for ever,
 * and on a large log it would scan every event before the deploy could go on. Legacy streams
 * are found with `SELECT stream_id FROM es_streams WHERE NOT (<the check>)`.
 */
export class ConversationStreamIds1764400600000 implements MigrationInterface {
  name = 'ConversationStreamIds1764400600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE es_streams ADD CONSTRAINT es_streams_conversation_id ` +
        `CHECK (${CONVERSATION_STREAM_ID_CHECK}) NOT VALID`,
    );
    await q.query(
      `ALTER TABLE es_events ADD CONSTRAINT es_events_conversation_id ` +
        `CHECK (${CONVERSATION_STREAM_ID_CHECK}) NOT VALID`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE es_events DROP CONSTRAINT es_events_conversation_id`);
    await q.query(`ALTER TABLE es_streams DROP CONSTRAINT es_streams_conversation_id`);
  }
}
