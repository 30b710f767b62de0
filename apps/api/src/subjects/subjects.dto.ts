import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsTenantId, TimeCursorParam } from '../audit/dto/audit-validators';
import { PageLimit } from '../common/page-limit';
import { Optional } from '../common/optional';

/** A reason is recorded in the subject's events: 1-1000 characters, nothing jsonb refuses. */
export const MAX_REASON = 1000;
const NO_NUL = /^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;
const TENANT = ApiPropertyOptional({
  example: 'tenant-a',
  description: 'Only for keys of all tenants (*), which must give it: subject ids are per tenant',
});

export class SubjectRequestDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_REASON, example: 'Data subject request DSR-2031 (erasure)' })
  @IsString()
  @Length(1, MAX_REASON)
  @Matches(NO_NUL, { message: '$property must not contain NUL characters or lone UTF-16 surrogates' })
  reason: string;

  @TENANT @Optional() @IsTenantId() tenantId?: string;
}

export class SubjectTenantQueryDto {
  @TENANT @IsOptional() @IsTenantId() tenantId?: string;
}

export class SubjectHoldsQueryDto extends SubjectTenantQueryDto {
  @PageLimit()
  limit?: number;

  @TimeCursorParam()
  cursor?: string;
}

export class SubjectErasureDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'Conversations of the subject whose content was erased' })
  conversations: number;
  @ApiProperty({ format: 'date-time', description: 'When the erasure committed (its keys were destroyed)' })
  erasedAt: string;
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description:
      'Events of those conversations that hold text written before content encryption: destroying keys cannot ' +
      'erase it',
  })
  plaintextEventsNotErasable: number;
  @ApiProperty({ format: 'uuid', description: 'Names the erasure in its SubjectErased and ContentErased events' })
  erasureId: string;
  @ApiPropertyOptional({
    type: [String],
    maxItems: 10,
    description:
      'Only when no conversation was erased and the tenant has subjects whose id equals this one but for ' +
      'letter case (ids are case-sensitive: those are other subjects, left alone): up to 10 of them, sorted. ' +
      'A hint for a mistyped id',
  })
  otherLetterCases?: string[];
}

export class HoldCreatedDto {
  @ApiProperty({ format: 'uuid' }) holdId: string;
}

export class HoldDto {
  @ApiProperty({ format: 'uuid' }) holdId: string;
  @ApiProperty() reason: string;
  @ApiProperty({ format: 'date-time' }) placedAt: string;
  @ApiProperty({ description: 'The API key id that placed it' }) placedBy: string;
  @ApiPropertyOptional({ format: 'date-time' }) releasedAt?: string;
  @ApiPropertyOptional({ description: 'The API key id that released it' }) releasedBy?: string;
}

export class HoldsDto {
  @ApiProperty({ type: [HoldDto], description: 'Open and released holds, newest first' }) items: HoldDto[];
  @ApiProperty({ type: String, nullable: true, description: 'The next page’s cursor; null on the last page' })
  nextCursor: string | null;
}

export class OpenHoldDto {
  @ApiProperty({ format: 'uuid' }) holdId: string;
  @ApiProperty() reason: string;
  @ApiProperty({ format: 'date-time' }) placedAt: string;
}

export class LegalHoldProblemDto {
  @ApiProperty({ format: 'uri-reference', example: '/problems/legal-hold' }) type: string;
  @ApiProperty({ example: 'Conflict' }) title: string;
  @ApiProperty({ type: 'integer', enum: [409], example: 409 }) status: number;
  @ApiProperty() detail: string;
  @ApiProperty({ enum: ['LEGAL_HOLD'], example: 'LEGAL_HOLD' }) code: string;
  @ApiProperty({ type: [OpenHoldDto], description: 'The open holds that keep the content' }) holds: OpenHoldDto[];
}
