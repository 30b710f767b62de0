import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDateString, IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { GUARD_CODES, MESSAGE_ROLES, REVIEW_OUTCOMES } from '@app/conversation';
import { REASON_CODE_SCHEMA } from '../../common/is-reason-code';
import { PageLimit } from '../../common/page-limit';
import { IsUuid } from '../../common/is-uuid';

export class CommandResultDto {
  @ApiProperty({ type: 'integer', example: 4, description: 'Version of the last event appended (also the ETag)' })
  version: number;
  @ApiProperty({ example: '7311-42', description: 'Pass as ?waitFor= on reads to see this write' }) position: string;
  @ApiPropertyOptional({ format: 'uuid' }) conversationId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) messageId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) endEventId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) flagId?: string;
  @ApiPropertyOptional({ format: 'uuid' }) reviewId?: string;
}

export class EndBlockedProblemDto {
  @ApiProperty({ format: 'uri-reference', example: '/problems/end-blocked' }) type: string;
  @ApiProperty({ example: 'Conflict' }) title: string;
  @ApiProperty({ type: 'integer', enum: [409], example: 409 }) status: number;
  @ApiProperty({ example: 'the end was blocked by INSUFFICIENT_REDIRECTION; the attempt is recorded' }) detail: string;
  @ApiProperty({ enum: ['END_BLOCKED'], example: 'END_BLOCKED' }) code: string;
  @ApiProperty({ enum: GUARD_CODES, isArray: true }) failedGuards: string[];
  @ApiProperty({ format: 'uuid', description: 'The recorded EndAttemptBlocked event' }) blockedEventId: string;
  @ApiProperty({ type: 'integer', description: 'Version of the recorded EndAttemptBlocked event' }) version: number;
  @ApiProperty({ example: '7311-42' }) position: string;
}

export class EndSummaryDto {
  @ApiProperty({ format: 'uuid' }) endEventId: string;
  @ApiProperty({ ...REASON_CODE_SCHEMA, description: 'As its policy version declared it' }) reasonCode: string;
  @ApiProperty({ enum: ['model', 'operator'] }) initiator: string;
  @ApiProperty({ format: 'date-time' }) endedAt: string;
  @ApiProperty({ format: 'uuid' }) endedAtMessageId: string;
  @ApiProperty({
    type: String,
    nullable: true,
    enum: [...REVIEW_OUTCOMES, null],
    description: 'Of the latest review; null until reviewed',
  })
  reviewOutcome: string | null;
}

export class ThreadStatusDto {
  @ApiProperty({ format: 'uuid' }) conversationId: string;
  @ApiProperty() tenantId: string;
  @ApiProperty({ enum: ['active', 'ended'], description: "The active leaf's lineage" }) status: string;
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'The newest message appended; null before the first',
  })
  activeLeafMessageId: string | null;
  @ApiProperty({ type: 'integer' }) messageCount: number;
  @ApiProperty({ type: 'integer', description: 'Leaf messages (lineages)' }) branchCount: number;
  @ApiProperty({ type: 'integer', description: 'Redirections on the active lineage' }) redirectionCount: number;
  @ApiProperty({ type: 'integer', description: 'Risk flags not yet cleared' }) openRiskFlags: number;
  @ApiProperty({ type: [EndSummaryDto] }) ends: EndSummaryDto[];
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'null for a conversation with no events yet',
  })
  lastEventAt: string | null;
  @ApiProperty({ type: 'integer' }) version: number;
}

export class MessageDto {
  @ApiProperty({ format: 'uuid' }) messageId: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null for a root' }) parentMessageId:
    string | null;
  @ApiProperty({ enum: MESSAGE_ROLES }) role: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The text; null when it was erased (contentErased) or does not decrypt (contentUnreadable)',
  })
  content: string | null;
  @ApiPropertyOptional({ enum: [true], description: 'Present (true) when the content was erased (its key destroyed)' })
  contentErased?: true;
  @ApiPropertyOptional({
    enum: [true],
    description: 'Present (true) when the stored content does not decrypt (tampered); never a sign of erasure',
  })
  contentUnreadable?: true;
  @ApiPropertyOptional() modelId?: string;
  @ApiPropertyOptional() stopReason?: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: 'integer' }) version: number;
}

export class MessagesDto {
  @ApiProperty({ type: [MessageDto], description: 'Root first; the whole tree in append order with ?tree=true' })
  items: MessageDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last' })
  nextCursor: string | null;
}

export class AsOfQueryDto {
  @ApiPropertyOptional({ description: 'The state just after this stream version' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  asOfVersion?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'The state as recorded at this time' })
  @IsOptional()
  @IsDateString({ strict: true })
  asOf?: string;
}

export class MessagesQueryDto extends AsOfQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Another lineage, through this message' })
  @IsOptional()
  @IsUuid()
  leaf?: string;

  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'The whole tree' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'tree must be true or false' })
  tree?: string;

  @PageLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,9}$/, { message: 'cursor must be a cursor returned by this API' })
  cursor?: string;
}
