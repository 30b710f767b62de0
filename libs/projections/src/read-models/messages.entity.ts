import { Column, Entity, PrimaryColumn } from 'typeorm';

/** rm_messages: one row per message of the tree, insert-only (messages.projection.ts); no content. */
@Entity('rm_messages')
export class MessageEntity {
  @PrimaryColumn('uuid', { name: 'conversation_id' })
  conversationId: string;

  @PrimaryColumn('uuid', { name: 'message_id' })
  messageId: string;

  @Column('uuid', { name: 'parent_message_id', nullable: true })
  parentMessageId: string | null;

  @Column('text')
  role: string;

  @Column('text', { name: 'model_id', nullable: true })
  modelId: string | null;

  @Column('text', { name: 'stop_reason', nullable: true })
  stopReason: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('bigint')
  version: string;
}
