import type { PoolClient } from 'pg';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

/** The message tree: one row per message, insert-only. */
export const messagesProjection: Projection = {
  name: 'messages',
  tables: ['rm_messages'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(
      `INSERT INTO rm_messages (conversation_id, message_id, parent_message_id, role, content, model_id, stop_reason, created_at, version)
       SELECT conversation_id, (data->>'messageId')::uuid, (data->>'parentMessageId')::uuid, data->>'role', data->>'content',
              data->>'modelId', data->>'stopReason', occurred_at, stream_version
         FROM ${conversationEventsSql('MessageAppended')}
       ON CONFLICT DO NOTHING`,
      rangeParams(batch),
    );
  },
};
