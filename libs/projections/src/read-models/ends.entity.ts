import { Column, Entity, PrimaryColumn } from 'typeorm';

/** rm_ends: the ends index, with each end's latest review outcome (ends.projection.ts). */
@Entity('rm_ends')
export class EndEntity {
  @PrimaryColumn('uuid', { name: 'end_event_id' })
  endEventId: string;

  @Column('uuid', { name: 'conversation_id' })
  conversationId: string;

  @Column('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('text', { name: 'reason_code' })
  reasonCode: string;

  @Column('text')
  initiator: string;

  @Column('text', { name: 'model_id', nullable: true })
  modelId: string | null;

  @Column('int', { name: 'policy_version' })
  policyVersion: number;

  @Column('timestamptz', { name: 'ended_at' })
  endedAt: Date;

  @Column('uuid', { name: 'ended_at_message_id' })
  endedAtMessageId: string;

  @Column('int', { name: 'redirection_count' })
  redirectionCount: number;

  /** The end event's stream version. */
  @Column('bigint')
  version: string;

  /** The end event's commit-order position. */
  @Column('text')
  position: string;

  @Column('text', { name: 'review_outcome', nullable: true })
  reviewOutcome: string | null;

  @Column('timestamptz', { name: 'reviewed_at', nullable: true })
  reviewedAt: Date | null;
}

/** rm_blocked_ends: end attempts the guards refused (ends.projection.ts). */
@Entity('rm_blocked_ends')
export class BlockedEndEntity {
  @PrimaryColumn('uuid', { name: 'event_id' })
  eventId: string;

  @Column('uuid', { name: 'conversation_id' })
  conversationId: string;

  @Column('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('text')
  initiator: string;

  @Column('text', { name: 'proposed_reason_code' })
  proposedReasonCode: string;

  @Column('text', { name: 'failed_guards', array: true })
  failedGuards: string[];

  @Column('uuid', { name: 'at_message_id' })
  atMessageId: string;

  @Column('text', { name: 'model_id', nullable: true })
  modelId: string | null;

  @Column('int', { name: 'policy_version' })
  policyVersion: number;

  @Column('timestamptz', { name: 'attempted_at' })
  attemptedAt: Date;
}
