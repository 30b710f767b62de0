import { ApiProperty, ApiPropertyOptional, OmitType, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { GUARD_CODES, INITIATORS } from '@app/conversation';
import {
  AUDIT_TIME,
  BLOCKED_STAT_GROUPS,
  MAX_LIMIT,
  MAX_POLICY_VERSION,
  MAX_SAMPLE,
  REVIEW_OUTCOME_FILTERS,
  STAT_BUCKETS,
  LIST_ORDERS,
  STAT_GROUPS,
} from '@app/audit';
import { IsReasonCode, REASON_CODE_DESCRIPTION, REASON_CODE_SCHEMA } from '../../common/is-reason-code';
import { IsAuditTime, IsModelId, IsOneOf, IsOrderedTimeCursor, IsSequenceCursor, IsTenantId } from './audit-validators';

// A date alone or a date-time: no OpenAPI format says both, the pattern does.
const TIME = {
  pattern: AUDIT_TIME.pattern.source,
  description: 'ISO 8601 date (UTC midnight) or date-time with Z or an offset',
};
const FROM = ApiPropertyOptional({ ...TIME, description: `Inclusive. ${TIME.description}`, example: '2025-08-01' });
const TO = ApiPropertyOptional({
  ...TIME,
  description: `Exclusive. ${TIME.description}`,
  example: '2025-09-01T00:00:00Z',
});
const TENANT = ApiPropertyOptional({
  description: 'Keys of all tenants (*) may narrow to one; another tenant than the key’s gives an empty list',
});
const LIMIT = ApiPropertyOptional({ default: 50, minimum: 1, maximum: MAX_LIMIT });
const REASON_CODE_FILTER = ApiPropertyOptional({
  ...REASON_CODE_SCHEMA,
  description: `${REASON_CODE_DESCRIPTION} Any version's code.`,
});
const CURSOR = ApiPropertyOptional({ description: 'The nextCursor of the previous page (opaque)' });
const ORDERED_CURSOR = ApiPropertyOptional({
  description: 'The nextCursor of the previous page (opaque), asked with the same order (another is 400)',
});
const ORDER = ApiPropertyOptional({
  enum: LIST_ORDERS,
  default: 'desc',
  description: 'desc: newest first; asc: oldest first. Both page with nextCursor; a cursor keeps its order',
});

/** The filters of /v1/audit/ends, shared by the export and the sample. */
export class EndFiltersDto {
  @REASON_CODE_FILTER @IsOptional() @IsReasonCode() reasonCode?: string;
  @ApiPropertyOptional({ enum: INITIATORS }) @IsOptional() @IsOneOf(INITIATORS) initiator?: string;
  @ApiPropertyOptional({ example: 'claude-opus-4-1' }) @IsOptional() @IsModelId() modelId?: string;
  @TENANT @IsOptional() @IsTenantId() tenantId?: string;
  @ApiPropertyOptional({ minimum: 1, example: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_POLICY_VERSION)
  policyVersion?: number;
  @ApiPropertyOptional({ enum: REVIEW_OUTCOME_FILTERS, description: '`none`: ends not reviewed yet' })
  @IsOptional()
  @IsOneOf(REVIEW_OUTCOME_FILTERS)
  reviewOutcome?: (typeof REVIEW_OUTCOME_FILTERS)[number];
  @FROM @IsOptional() @IsAuditTime() from?: string;
  @TO @IsOptional() @IsAuditTime() to?: string;
}

export class EndsQueryDto extends EndFiltersDto {
  @LIMIT @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_LIMIT) limit?: number;
  @ORDER @IsOptional() @IsOneOf(LIST_ORDERS) order?: (typeof LIST_ORDERS)[number];
  @ORDERED_CURSOR @IsOptional() @IsOrderedTimeCursor() cursor?: string;
}

export const EXPORT_BUNDLE_VALUES = ['0', '1'] as const;

export class ExportQueryDto extends EndFiltersDto {
  @ApiPropertyOptional({
    enum: EXPORT_BUNDLE_VALUES,
    default: '0',
    description:
      '1: the signed audit bundle (events.ndjson, proofs.ndjson, checkpoint.txt, verifier-key.txt, manifest.json, ' +
      'manifest.sig) as one ustar archive, application/x-tar, checked offline by conversation-audit-verify',
  })
  @IsOptional()
  @IsOneOf(EXPORT_BUNDLE_VALUES)
  bundle?: (typeof EXPORT_BUNDLE_VALUES)[number];
}

export class SampleQueryDto extends EndFiltersDto {
  @ApiPropertyOptional({ default: 20, minimum: 1, maximum: MAX_SAMPLE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SAMPLE)
  size?: number;

  @ApiPropertyOptional({
    description: 'The same seed over the same ends gives the same sample; generated (and returned) when absent',
    example: 'q3-review',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'seed must be 1-128 letters, digits or . _ : -' })
  seed?: string;
}

export class BlockedEndsQueryDto {
  @ApiPropertyOptional({ enum: GUARD_CODES, description: 'Attempts that failed this guard (among others)' })
  @IsOptional()
  @IsOneOf(GUARD_CODES)
  guard?: string;
  @ApiPropertyOptional() @IsOptional() @IsModelId() modelId?: string;
  @ApiPropertyOptional({
    ...REASON_CODE_SCHEMA,
    description: `The proposed reason code. ${REASON_CODE_DESCRIPTION} Any version's code.`,
  })
  @IsOptional()
  @IsReasonCode()
  reasonCode?: string;
  @ApiPropertyOptional({ enum: INITIATORS }) @IsOptional() @IsOneOf(INITIATORS) initiator?: string;
  @TENANT @IsOptional() @IsTenantId() tenantId?: string;
  @FROM @IsOptional() @IsAuditTime() from?: string;
  @TO @IsOptional() @IsAuditTime() to?: string;
  @LIMIT @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_LIMIT) limit?: number;
  @ORDER @IsOptional() @IsOneOf(LIST_ORDERS) order?: (typeof LIST_ORDERS)[number];
  @ORDERED_CURSOR @IsOptional() @IsOrderedTimeCursor() cursor?: string;
}

/** The filters of /v1/audit/ends, but from and to count whole UTC days. */
export class EndStatsQueryDto extends OmitType(EndFiltersDto, ['from', 'to'] as const) {
  @ApiPropertyOptional({ enum: STAT_BUCKETS, default: 'day', description: 'UTC days, or ISO weeks starting on Monday' })
  @IsOptional()
  @IsOneOf(STAT_BUCKETS)
  bucket?: (typeof STAT_BUCKETS)[number];
  @ApiPropertyOptional({
    enum: STAT_GROUPS,
    default: 'reasonCode',
    description:
      "The key ends are counted under. reviewOutcome: the latest review's outcome (upheld, overturned, " +
      'reclassified), or none while pending (never reviewed); modelId: (none) for an end without a model',
  })
  @IsOptional()
  @IsOneOf(STAT_GROUPS)
  groupBy?: (typeof STAT_GROUPS)[number];
  @ApiPropertyOptional({ ...TIME, description: `Days overlapping [from, to) are counted. ${TIME.description}` })
  @IsOptional()
  @IsAuditTime()
  from?: string;
  @TO @IsOptional() @IsAuditTime() to?: string;
}

export class BlockedEndStatsQueryDto extends OmitType(BlockedEndsQueryDto, ['limit', 'cursor', 'order'] as const) {
  @ApiProperty({
    enum: BLOCKED_STAT_GROUPS,
    description: 'guard: an attempt counts once for each guard it failed; modelId: (none) for an attempt without one',
  })
  @IsOneOf(BLOCKED_STAT_GROUPS)
  groupBy: (typeof BLOCKED_STAT_GROUPS)[number];
}

export class ReviewStatsQueryDto {
  @TENANT @IsOptional() @IsTenantId() tenantId?: string;
  @ApiPropertyOptional({ ...TIME, description: `Reviews made from (inclusive). ${TIME.description}` })
  @IsOptional()
  @IsAuditTime()
  from?: string;
  @TO @IsOptional() @IsAuditTime() to?: string;
}

/** The end's own fields of /v1/audit/ends' filters (the re-check reads the log, not the review index). */
export class ComplianceQueryDto extends PickType(EndFiltersDto, [
  'reasonCode',
  'modelId',
  'policyVersion',
  'from',
  'to',
] as const) {
  @TENANT @IsOptional() @IsTenantId() tenantId?: string;
  @LIMIT @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_LIMIT) limit?: number;
  @CURSOR @IsOptional() @IsSequenceCursor() cursor?: string;
}

/** /v1/audit/policies takes no parameters (but ?waitFor=): any other is refused, as everywhere. */
export class NoQueryDto {}
