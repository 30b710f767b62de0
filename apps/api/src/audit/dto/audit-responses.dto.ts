import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { GUARD_CODES, INITIATORS, REVIEW_OUTCOMES } from '@app/conversation';
import { BLOCKED_STAT_GROUPS, NO_MODEL_KEY } from '@app/audit';
import { REASON_CODE_SCHEMA } from '../../common/is-reason-code';
import { EventDto } from '../../events/dto/event.dto';

const NEXT_CURSOR = ApiProperty({
  type: String,
  nullable: true,
  description: 'Pass as ?cursor= for the next page; null on the last page',
});

export class AuditEndDto {
  @ApiProperty({ format: 'uuid' }) endEventId: string;
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty() tenantId: string;
  @ApiProperty({ ...REASON_CODE_SCHEMA, description: 'As its policy version declared it' }) reasonCode: string;
  @ApiProperty({ enum: INITIATORS }) initiator: string;
  @ApiProperty({ nullable: true, type: String }) modelId: string | null;
  @ApiProperty({ type: 'integer' }) policyVersion: number;
  @ApiProperty({ format: 'date-time' }) endedAt: string;
  @ApiProperty({ format: 'uuid' }) endedAtMessageId: string;
  @ApiProperty({ type: 'integer' }) redirectionCount: number;
  @ApiProperty({
    type: String,
    nullable: true,
    enum: [...REVIEW_OUTCOMES, null],
    description: 'Of the latest review; null until reviewed',
  })
  reviewOutcome: string | null;
  @ApiProperty({ type: 'integer', description: "The end event's stream version" }) version: number;
  @ApiProperty({ description: "The end event's commit-order position", example: '7311-42' }) position: string;
}

export class AuditEndPageDto {
  @ApiProperty({ type: [AuditEndDto], description: 'Newest first (endedAt, then endEventId, descending)' })
  items: AuditEndDto[];
  @NEXT_CURSOR nextCursor: string | null;
}

export class BlockedEndDto {
  @ApiProperty({ format: 'uuid', description: 'The EndAttemptBlocked event' }) eventId: string;
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty() tenantId: string;
  @ApiProperty({ enum: INITIATORS }) initiator: string;
  @ApiProperty({ ...REASON_CODE_SCHEMA, description: 'As proposed: a code of some policy version' })
  proposedReasonCode: string;
  @ApiProperty({ enum: GUARD_CODES, isArray: true }) failedGuards: string[];
  @ApiProperty({ format: 'uuid' }) atMessageId: string;
  @ApiProperty({ nullable: true, type: String }) modelId: string | null;
  @ApiProperty({ type: 'integer' }) policyVersion: number;
  @ApiProperty({ format: 'date-time' }) attemptedAt: string;
}

export class BlockedEndPageDto {
  @ApiProperty({ type: [BlockedEndDto], description: 'Newest first' }) items: BlockedEndDto[];
  @NEXT_CURSOR nextCursor: string | null;
}

export class EndStatsBucketDto {
  @ApiProperty({ example: '2025-08-18', description: 'First UTC day of the bucket (a Monday for weeks)' })
  start: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, example: { ABUSE_OF_ASSISTANT: 3 } })
  counts: Record<string, number>;
  @ApiProperty({ type: 'integer' }) total: number;
  @ApiProperty({ type: 'integer' }) conversationsStarted: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'Ends per 1,000 conversations started (null when none started)',
  })
  ratePer1000: number | null;
}

export class EndStatsDto {
  @ApiProperty({ type: [EndStatsBucketDto], description: 'Oldest first; buckets with any start or end' })
  buckets: EndStatsBucketDto[];
}

export class BlockedEndStatsItemDto {
  @ApiProperty({ description: `A guard, a model id (${NO_MODEL_KEY} for none) or a proposed reason code` }) key: string;
  @ApiProperty({ type: 'integer' }) count: number;
}

export class BlockedEndStatsDto {
  @ApiProperty({ enum: BLOCKED_STAT_GROUPS }) groupBy: string;
  @ApiProperty({ type: 'integer', description: 'Blocked attempts matching the filters' }) total: number;
  @ApiProperty({
    type: [BlockedEndStatsItemDto],
    description: 'By count descending, then key. By guard, an attempt counts once for each guard it failed.',
  })
  items: BlockedEndStatsItemDto[];
}

export class PolicyReasonCodeDto {
  @ApiProperty(REASON_CODE_SCHEMA) code: string;
  @ApiProperty() meaning: string;
  @ApiProperty({ enum: INITIATORS, isArray: true, description: 'Who may end with it' }) initiators: string[];
  @ApiProperty({ description: 'An end with it must carry an explanation' }) explanationRequired: boolean;
}

export class PolicyGuardDto {
  @ApiProperty({ enum: GUARD_CODES }) guard: string;
  @ApiProperty({
    description: "The guard's rule as plain text, with this version's values in it",
    example:
      'At least 2 failed redirections must come before a model ends a conversation (unless the user asked to end it)',
  })
  rule: string;
}

export class PolicyDto {
  @ApiProperty({ type: 'integer', minimum: 1 }) version: number;
  @ApiProperty({ type: [String] }) endCapableModels: string[];
  @ApiProperty({ type: 'integer', minimum: 0 }) minRedirectionAttempts: number;
  @ApiProperty() requireWarning: boolean;
  @ApiProperty({ type: [PolicyReasonCodeDto] }) reasonCodes: PolicyReasonCodeDto[];
  @ApiProperty({ type: [PolicyGuardDto], description: 'Every guard, in the order they are checked' })
  guards: PolicyGuardDto[];
}

export class PolicyListDto {
  @ApiProperty({ type: [PolicyDto], description: 'Every stored policy version, newest first' }) items: PolicyDto[];
}

export class ComplianceItemDto {
  @ApiProperty({ format: 'uuid' }) endEventId: string;
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ nullable: true, type: String }) tenantId: string | null;
  @ApiProperty({ nullable: true, type: 'integer' }) policyVersion: number | null;
  @ApiProperty({ nullable: true, type: String }) reasonCode: string | null;
  @ApiProperty({ nullable: true, type: String }) initiator: string | null;
  @ApiProperty({ nullable: true, type: String }) modelId: string | null;
  @ApiProperty({ format: 'date-time' }) endedAt: string;
  @ApiProperty({ type: 'integer' }) version: number;
  @ApiProperty() position: string;
  @ApiProperty({
    type: [String],
    description:
      'Guards of its own policy version that the end fails, ' +
      'or UNKNOWN_POLICY_VERSION, MALFORMED_END, UNREADABLE_HISTORY',
  })
  failedGuards: string[];
}

export class CompliancePageDto {
  @ApiProperty({ type: [ComplianceItemDto], description: 'Empty in a healthy system; in log order' })
  items: ComplianceItemDto[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Set when ends remain to be checked (a page may be short: each call re-checks at most 5,000 ends)',
  })
  nextCursor: string | null;
  @ApiProperty({ type: 'integer', description: 'Ends re-checked by this call' }) checkedEnds: number;
}

export class SampleDto {
  @ApiProperty({ description: 'The seed used (give it again for the same sample)' }) seed: string;
  @ApiProperty({ type: 'integer' }) size: number;
  @ApiProperty({ type: [AuditEndDto] }) items: AuditEndDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Always null: a sample is returned whole' })
  nextCursor: null;
}

export class ChainDto {
  @ApiProperty() valid: boolean;
  @ApiPropertyOptional({ type: 'integer', description: 'The first version whose hash link does not verify' })
  brokenAtVersion?: number;
  @ApiPropertyOptional() reason?: string;
}

export class TimelineDto {
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty({ type: [EventDto], description: 'Every event of the stream, version 1 first' }) events: EventDto[];
  @ApiProperty({ type: ChainDto }) chain: ChainDto;
}

export class ReviewResultDto {
  @ApiProperty({ format: 'uuid' }) reviewId: string;
  @ApiProperty({ type: 'integer', description: 'Version of the EndDecisionReviewed event (also the ETag)' })
  version: number;
  @ApiProperty({ description: 'Pass as ?waitFor= on reads to see this review' }) position: string;
}

export class ReviewRateDto {
  @ApiProperty() key: string;
  @ApiProperty({ type: 'integer' }) reviewed: number;
  @ApiProperty({ type: 'integer' }) upheld: number;
  @ApiProperty({ type: 'integer' }) overturned: number;
  @ApiProperty({ type: 'integer' }) reclassified: number;
  @ApiProperty({ description: 'overturned / reviewed' }) overturnRate: number;
}

export class ReviewStatsDto {
  @ApiProperty({ type: [ReviewRateDto], description: 'Reviewed ends by reason code, each with its latest outcome' })
  byReasonCode: ReviewRateDto[];
  @ApiProperty({ type: [ReviewRateDto], description: 'Reviewed ends by model' }) byModelId: ReviewRateDto[];
  @ApiProperty({ type: [ReviewRateDto], description: 'Every review by reviewer (API key id)' })
  byReviewer: ReviewRateDto[];
}
