import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { AUDIT_TIME } from '@app/audit';
import { IsUuid } from '../common/is-uuid';
import { PageLimit } from '../common/page-limit';
import { IsAuditTime, IsTenantId, TimeCursorParam } from '../audit/dto/audit-validators';

const TIME = { pattern: AUDIT_TIME.pattern.source, description: 'ISO 8601 date (UTC midnight) or date-time' };

export class AccessQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Entries that name this conversation (any letter case)' })
  @IsOptional()
  @IsUuid()
  conversationId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Entries of reads made with this API key' })
  @IsOptional()
  @IsUuid()
  keyId?: string;

  @ApiPropertyOptional({
    description: 'Keys of all tenants (*) may narrow to one; another tenant than the key’s gives an empty list',
  })
  @IsOptional()
  @IsTenantId()
  tenantId?: string;

  @ApiPropertyOptional({ ...TIME, description: `Reads at or after. ${TIME.description}`, example: '2026-12-01' })
  @IsOptional()
  @IsAuditTime()
  from?: string;

  @ApiPropertyOptional({ ...TIME, description: `Reads before (exclusive). ${TIME.description}` })
  @IsOptional()
  @IsAuditTime()
  to?: string;

  @PageLimit()
  limit?: number;

  @TimeCursorParam()
  cursor?: string;
}

export class AccessItemDto {
  @ApiProperty({ format: 'date-time', description: 'When the content was read' }) at: string;
  @ApiProperty({ format: 'uuid', description: 'The API key that read it' }) keyId: string;
  @ApiProperty({ enum: ['writer', 'operator', 'auditor', 'admin'] }) role: string;
  @ApiProperty({ description: 'The tenant whose data was read (`*`: a read that returned no tenant’s data)' })
  tenantId: string;
  @ApiProperty({ example: '/v1/conversations/:id/messages', description: 'The route template' }) route: string;
  @ApiProperty({
    type: [String],
    format: 'uuid',
    description: 'The conversations of this tenant whose content or detail the answer carried',
  })
  conversationIds: string[];
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'The query the read was made with (filters, cursor), as given',
  })
  filter: Record<string, string>;
  @ApiProperty({ description: 'X-Request-Id of the read' }) requestId: string;
  @ApiProperty({ format: 'uuid', description: 'The ContentAccessed event that records it' }) eventId: string;
  @ApiProperty({ description: 'The event’s commit-order position' }) position: string;
}

export class AccessPageDto {
  @ApiProperty({ type: [AccessItemDto] }) items: AccessItemDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last' })
  nextCursor: string | null;
}
