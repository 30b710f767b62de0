import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNumber,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { Optional } from '../../common/optional';
import {
  ERROR_TYPES,
  HARM_CATEGORIES,
  INITIATORS,
  MESSAGE_ROLES,
  RATINGS,
  type ReasonCode,
  REVIEW_OUTCOMES,
  RISK_KINDS,
  RISK_SOURCES,
  STOP_REASONS,
} from '@app/conversation';
import { IsReasonCode, REASON_CODE_DESCRIPTION, REASON_CODE_SCHEMA } from '../../common/is-reason-code';
import { IsUuid } from '../../common/is-uuid';
import { parseUuid } from '@app/event-store';

/** Limits: content at most 100 kB, short identifiers, bodies at most 1 MB (the adapter). */
export const MAX_CONTENT = 100_000;
/** Subject, model and channel ids (the subjects' routes take subject ids by the same rule). */
export const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const ID_MESSAGE = 'must be 1-128 letters, digits or . _ : @ -';
const oneOf = (list: readonly string[]) => ({ message: `$property must be one of: ${list.join(', ')}` });
/** Free text is refused with a field error when it holds what jsonb cannot store: NUL, lone surrogates. */
const NO_NUL = /^(?:[^\u0000\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])*$/;
const NoNul = () =>
  Matches(NO_NUL, {
    message: '$property must not contain NUL characters or lone UTF-16 surrogates',
  });

export class ForkOriginDto {
  @ApiProperty({ format: 'uuid' }) @IsUuid() conversationId: string;
  @ApiProperty({ format: 'uuid' }) @IsUuid() messageId: string;
}

export class StartConversationDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Generated when absent' })
  @Optional()
  @IsUuid()
  conversationId?: string;

  @ApiProperty({ example: 'subj-5a1f', description: 'Pseudonymous id of the person' })
  @IsString()
  @Matches(ID, { message: `subjectId ${ID_MESSAGE}` })
  subjectId: string;

  @ApiProperty({ example: 'claude-opus-4-1' })
  @IsString()
  @Matches(ID, { message: `modelId ${ID_MESSAGE}` })
  modelId: string;

  @ApiPropertyOptional({ example: 'web' })
  @Optional()
  @IsString()
  @MaxLength(64)
  @NoNul()
  channel?: string;

  @ApiPropertyOptional({ type: ForkOriginDto, description: 'Start a new conversation from a message of another one' })
  @Optional()
  @ValidateNested()
  @Type(() => ForkOriginDto)
  forkedFrom?: ForkOriginDto;

  @ApiPropertyOptional({ description: 'Only for keys of all tenants (*): the tenant of the new conversation' })
  @Optional()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'tenantId must be 1-64 letters, digits, ".", "_" or "-"' })
  tenantId?: string;
}

export class AppendMessageDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Generated when absent' })
  @Optional()
  @IsUuid()
  messageId?: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'null for a new root; an earlier message to branch (edit)',
  })
  @ValidateIf((_, v) => v !== null)
  @IsUuid()
  parentMessageId: string | null;

  @ApiProperty({ enum: MESSAGE_ROLES }) @IsIn(MESSAGE_ROLES, oneOf(MESSAGE_ROLES)) role: (typeof MESSAGE_ROLES)[number];

  @ApiProperty({ maxLength: MAX_CONTENT, example: 'Hello!' })
  @IsString()
  @MaxLength(MAX_CONTENT)
  @NoNul()
  content: string;

  @ApiPropertyOptional({ example: 'claude-opus-4-1' })
  @Optional()
  @Matches(ID, { message: `modelId ${ID_MESSAGE}` })
  modelId?: string;

  @ApiPropertyOptional({ enum: STOP_REASONS })
  @Optional()
  @IsIn(STOP_REASONS, oneOf(STOP_REASONS))
  stopReason?: (typeof STOP_REASONS)[number];
}

const APPEND_MESSAGE_FIELDS = new Set(['messageId', 'parentMessageId', 'role', 'content', 'modelId', 'stopReason']);
const isOneOf = (list: readonly string[], v: unknown) => list.includes(v as string);

/**
 * AppendMessageDto's plain, valid form checked without class-validator (FastBodyValidationPipe):
 * the instance the ValidationPipe would make (UUIDs lower-cased, as IsUuid does), else null and
 * the pipe judges the body. Stricter than the decorators: a null optional field, or content
 * longer than MAX_CONTENT UTF-16 units (MaxLength counts a surrogate pair once), goes the pipe's way.
 */
export function appendMessageFast(body: unknown): AppendMessageDto | null {
  // A plain object (as JSON.parse makes them), not an array or an instance of anything.
  const proto: unknown = typeof body === 'object' && body !== null ? Object.getPrototypeOf(body) : null;
  if (proto === null || Object.getPrototypeOf(proto) !== null) return null;
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!APPEND_MESSAGE_FIELDS.has(key)) return null;
  const messageId = b.messageId === undefined ? undefined : parseUuid(b.messageId);
  const parentMessageId = b.parentMessageId === null ? null : parseUuid(b.parentMessageId);
  const { content, modelId, stopReason } = b;
  const valid =
    messageId !== null &&
    (b.parentMessageId === null || parentMessageId !== null) &&
    isOneOf(MESSAGE_ROLES, b.role) &&
    typeof content === 'string' &&
    content.length <= MAX_CONTENT &&
    NO_NUL.test(content) &&
    (modelId === undefined || (typeof modelId === 'string' && ID.test(modelId))) &&
    (stopReason === undefined || isOneOf(STOP_REASONS, stopReason));
  if (!valid) return null;
  const dto = Object.assign(new AppendMessageDto(), b);
  if (messageId !== undefined) dto.messageId = messageId;
  dto.parentMessageId = parentMessageId;
  return dto;
}

export class RecordRedirectionDto {
  @ApiProperty({ format: 'uuid', description: 'The assistant message that redirected' }) @IsUuid() messageId: string;
  @ApiProperty({ enum: HARM_CATEGORIES })
  @IsIn(HARM_CATEGORIES, oneOf(HARM_CATEGORIES))
  harmCategory: (typeof HARM_CATEGORIES)[number];
}

export class IssueWarningDto {
  @ApiProperty({ format: 'uuid', description: 'The assistant message that warned' }) @IsUuid() messageId: string;
  @ApiProperty({ enum: HARM_CATEGORIES })
  @IsIn(HARM_CATEGORIES, oneOf(HARM_CATEGORIES))
  reasonCode: (typeof HARM_CATEGORIES)[number];
}

export class RequestEndDto {
  @ApiProperty({ format: 'uuid', description: 'The user message that asked to end the chat' })
  @IsUuid()
  messageId: string;
}

export class EndConversationDto {
  @ApiProperty({ enum: INITIATORS, description: 'writer keys end only as model' })
  @IsIn(INITIATORS, oneOf(INITIATORS))
  initiator: (typeof INITIATORS)[number];

  @ApiProperty({
    ...REASON_CODE_SCHEMA,
    description: `${REASON_CODE_DESCRIPTION} The version in force says whether an end may use it (409 END_BLOCKED).`,
  })
  @IsReasonCode()
  reasonCode: ReasonCode;

  @ApiProperty({ format: 'uuid', description: 'The message at which the lineage ends' }) @IsUuid() atMessageId: string;

  @ApiPropertyOptional({
    maxLength: 4000,
    description: 'Required for a code whose policy version says so (version 1: OTHER_POLICY, OPERATOR_ACTION)',
  })
  @Optional()
  @IsString()
  @MaxLength(4000)
  @NoNul()
  explanation?: string;

  @ApiPropertyOptional({ type: [String], description: 'User messages of the lineage that show the abuse' })
  @Optional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsUuid({ each: true })
  evidenceMessageIds?: string[];

  @ApiPropertyOptional({ example: 'claude-opus-4-1', description: "The ending model; defaults to the conversation's" })
  @Optional()
  @Matches(ID, { message: `modelId ${ID_MESSAGE}` })
  modelId?: string;
}

export class SubmitFeedbackDto {
  @ApiPropertyOptional({ format: 'uuid' }) @Optional() @IsUuid() messageId?: string;
  @ApiProperty({ enum: RATINGS }) @IsIn(RATINGS, oneOf(RATINGS)) rating: (typeof RATINGS)[number];
  @ApiPropertyOptional({ maxLength: 4000 }) @Optional() @IsString() @MaxLength(4000) @NoNul() comment?: string;
}

export class FlagSafetyRiskDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Generated when absent' })
  @Optional()
  @IsUuid()
  flagId?: string;
  @ApiProperty({ enum: RISK_KINDS }) @IsIn(RISK_KINDS, oneOf(RISK_KINDS)) kind: (typeof RISK_KINDS)[number];
  @ApiProperty({ enum: RISK_SOURCES }) @IsIn(RISK_SOURCES, oneOf(RISK_SOURCES)) source: (typeof RISK_SOURCES)[number];
  @ApiPropertyOptional({ minimum: 0, maximum: 1 }) @Optional() @IsNumber() @Min(0) @Max(1) score?: number;
}

export class ClearSafetyRiskDto {
  @ApiPropertyOptional({ maxLength: 4000 }) @Optional() @IsString() @MaxLength(4000) @NoNul() note?: string;
}

export class ReviewEndDecisionDto {
  @ApiProperty({ format: 'uuid' }) @IsUuid() endEventId: string;
  @ApiProperty({ enum: REVIEW_OUTCOMES })
  @IsIn(REVIEW_OUTCOMES, oneOf(REVIEW_OUTCOMES))
  outcome: (typeof REVIEW_OUTCOMES)[number];
  @ApiPropertyOptional({
    ...REASON_CODE_SCHEMA,
    description: `Required for reclassified. ${REASON_CODE_DESCRIPTION} Any version's code.`,
  })
  @Optional()
  @IsReasonCode()
  newReasonCode?: ReasonCode;
  @ApiPropertyOptional({ enum: ERROR_TYPES })
  @Optional()
  @IsIn(ERROR_TYPES, oneOf(ERROR_TYPES))
  errorType?: (typeof ERROR_TYPES)[number];
  @ApiPropertyOptional({ maxLength: 4000 }) @Optional() @IsString() @MaxLength(4000) @NoNul() note?: string;
}
