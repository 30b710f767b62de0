import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ConversationSnapshot, ThreadStatus } from '@app/conversation';

/**
 * rm_conversations: a conversation's thread status, as of `version` of its stream, with the
 * domain's snapshot to fold on from (written set-based by thread-status.projection.ts).
 */
@Entity('rm_conversations')
export class ThreadStatusEntity {
  @PrimaryColumn('uuid', { name: 'conversation_id' })
  conversationId: string;

  @Column('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('text', { name: 'subject_id' })
  subjectId: string;

  @Column('text', { name: 'model_id' })
  modelId: string;

  @Column('text')
  status: ThreadStatus['status'];

  @Column('uuid', { name: 'active_leaf_message_id', nullable: true })
  activeLeafMessageId: string | null;

  @Column('int', { name: 'message_count' })
  messageCount: number;

  @Column('int', { name: 'branch_count' })
  branchCount: number;

  @Column('int', { name: 'redirection_count' })
  redirectionCount: number;

  @Column('int', { name: 'open_risk_flags' })
  openRiskFlags: number;

  @Column('jsonb')
  ends: ThreadStatus['ends'];

  @Column('timestamptz', { name: 'started_at' })
  startedAt: Date;

  @Column('timestamptz', { name: 'last_event_at', nullable: true })
  lastEventAt: Date | null;

  /** The stream version folded in (bigint: a string, as pg reads it). */
  @Column('bigint')
  version: string;

  /**
   * The state as of `snapshotVersion`, content-free: read by the projection itself, never by a
   * request. Null until the stream passes its first snapshot point.
   */
  @Column('jsonb', { select: false, nullable: true })
  snapshot: ConversationSnapshot | null;

  /** The version `snapshot` is at (0: none; null in rows written before snapshot points: `version`). */
  @Column('bigint', { name: 'snapshot_version', select: false, nullable: true })
  snapshotVersion: string | null;

  /**
   * The shape `snapshot` is in (CONVERSATION_SNAPSHOT_SCHEMA when written); null without a
   * snapshot and in rows written before snapshots carried it. Another value is never read.
   */
  @Column('smallint', { name: 'snapshot_schema', select: false, nullable: true })
  snapshotSchema: number | null;
}
