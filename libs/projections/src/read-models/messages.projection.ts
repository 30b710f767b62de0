import type { PoolClient } from 'pg';
import type { StoredEvent } from '@app/event-store';
import { Projection, withRows } from '../projection';
import { conversationIdOf } from '../recorded';

/** The message tree: one row per message, insert-only. */
export const messagesProjection: Projection = {
  name: 'messages',
  tables: ['rm_messages'],
  async apply(tx: PoolClient, events: StoredEvent[]): Promise<void> {
    const rows = events
      .filter((e) => e.type === 'MessageAppended' && conversationIdOf(e.streamId))
      .map((e) => ({ ...e.data, conversationId: conversationIdOf(e.streamId), createdAt: e.occurredAt, version: e.version }));
    await withRows(
      tx,
      `INSERT INTO rm_messages (conversation_id, message_id, parent_message_id, role, content, model_id, stop_reason, created_at, version)
       SELECT "conversationId", "messageId", "parentMessageId", role, content, "modelId", "stopReason", "createdAt", version
         FROM jsonb_to_recordset($1::jsonb) AS r("conversationId" uuid, "messageId" uuid, "parentMessageId" uuid, role text,
              content text, "modelId" text, "stopReason" text, "createdAt" timestamptz, version bigint)
       ON CONFLICT DO NOTHING`,
      rows,
    );
  },
};
