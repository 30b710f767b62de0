import type { PoolClient } from 'pg';
import { eventData } from '../event-sql';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

const appended = eventData('MessageAppended');

// No content: the text stays in the log, sealed (GET …/messages opens it there), so an erasure
// leaves no copy here and a rebuild brings none back.
const SQL = `INSERT INTO rm_messages (conversation_id, message_id, parent_message_id, role, model_id,
   stop_reason, created_at, version)
 SELECT conversation_id, (${appended.text('messageId')})::uuid, (${appended.text('parentMessageId')})::uuid,
        ${appended.text('role')}, ${appended.text('modelId')},
        ${appended.text('stopReason')}, occurred_at, stream_version
   FROM ${conversationEventsSql('MessageAppended')}
 ON CONFLICT DO NOTHING`;

/** The message tree (without the text): one row per message, insert-only. */
export const messagesProjection: Projection = {
  name: 'messages',
  tables: ['rm_messages'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(SQL, rangeParams(batch));
  },
};
