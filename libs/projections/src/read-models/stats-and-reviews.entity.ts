import { Column, Entity, PrimaryColumn } from 'typeorm';

/** rm_daily_ends: ends per UTC day, tenant, and reason or model (stats-and-reviews.projection.ts). */
@Entity('rm_daily_ends')
export class DailyEndsEntity {
  /** The UTC day, 'YYYY-MM-DD'. */
  @PrimaryColumn('date')
  day: string;

  @PrimaryColumn('text', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('text')
  dimension: 'reasonCode' | 'modelId';

  @PrimaryColumn('text')
  key: string;

  @Column('bigint')
  ends: string;
}

/** rm_daily_started: conversations started per UTC day and tenant. */
@Entity('rm_daily_started')
export class DailyStartedEntity {
  @PrimaryColumn('date')
  day: string;

  @PrimaryColumn('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('bigint')
  started: string;
}

/** rm_reviews: every review of an end decision. */
@Entity('rm_reviews')
export class ReviewEntity {
  @PrimaryColumn('uuid', { name: 'conversation_id' })
  conversationId: string;

  @PrimaryColumn('uuid', { name: 'review_id' })
  reviewId: string;

  @Column('uuid', { name: 'end_event_id' })
  endEventId: string;

  @Column('text', { name: 'tenant_id' })
  tenantId: string;

  @Column('text', { name: 'reviewer_id' })
  reviewerId: string;

  @Column('text')
  outcome: string;

  @Column('text', { name: 'new_reason_code', nullable: true })
  newReasonCode: string | null;

  @Column('text', { name: 'error_type', nullable: true })
  errorType: string | null;

  @Column('timestamptz', { name: 'reviewed_at' })
  reviewedAt: Date;
}
