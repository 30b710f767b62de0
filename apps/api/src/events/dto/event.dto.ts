import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import type { StoredEvent } from '@app/event-store';
import type { ReadableEvent } from '@app/privacy';
import { PageLimit } from '../../common/page-limit';
import { IsPosition } from '../../common/is-position';

export class EventDto {
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: 'conversation-0f8b6c1e-2f4a-4c7e-9a43-3d1c2b7a9e10' }) streamId: string;
  @ApiProperty({ type: 'integer', example: 3 }) version: number;
  @ApiProperty({ description: 'Opaque commit-order position', example: '7311-42' }) position: string;
  @ApiProperty({ example: 'MessageAppended' }) type: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'The data as read: encrypted fields (a message’s content, an end’s explanation, notes, a feedback comment) ' +
      'opened; such a field reads null when its key was destroyed (contentErased) or it does not decrypt ' +
      '(contentUnreadable)',
  })
  data: Record<string, unknown>;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Only when the stored form differs from data (encrypted fields are envelopes {enc, kid, iv, ct}): ' +
      'the data exactly as stored and hashed. Chain checks hash storedData ?? data.',
  })
  storedData?: Record<string, unknown>;
  @ApiPropertyOptional({
    enum: [true],
    description: 'Present (true) when some encrypted field’s key was destroyed (erasure): that field reads null',
  })
  contentErased?: true;
  @ApiPropertyOptional({
    enum: [true],
    description:
      'Present (true) when some encrypted field does not decrypt under its key (tampered or moved): that field ' +
      'reads null; never a sign of erasure',
  })
  contentUnreadable?: true;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'actor {type, id}, tenantId, correlationId, causationId, commandId',
  })
  metadata: Record<string, unknown>;
  @ApiProperty({ format: 'date-time', description: "The caller's time" }) occurredAt: string;
  @ApiProperty({ format: 'date-time', description: "The database's time of the commit" }) recordedAt: string;
  @ApiProperty({ description: 'SHA-256 (hex) of prevHash ‖ RFC 8785 JSON of the event' }) hash: string;
  @ApiProperty({ description: "The previous event's hash (64 zeros for version 1)" }) prevHash: string;

  static from(e: ReadableEvent<StoredEvent>): EventDto {
    return Object.assign(new EventDto(), e);
  }
}

export class EventPageDto {
  @ApiProperty({ type: [EventDto] }) items: EventDto[];
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Pass as `cursor` (or `after`) to read on; null when there is nothing more for now',
  })
  nextCursor: string | null;
}

export class FeedQueryDto {
  @ApiPropertyOptional({ description: 'Read events committed after this position' })
  @IsOptional()
  @IsString()
  @MaxLength(41)
  @IsPosition({ message: 'after must be a position returned by this API' })
  after?: string;

  @ApiPropertyOptional({ description: 'Same as after (keyset pagination)' })
  @IsOptional()
  @IsString()
  @MaxLength(41)
  @IsPosition({ message: 'cursor must be a cursor returned by this API' })
  cursor?: string;

  @PageLimit()
  limit?: number;
}

export class StreamEventsQueryDto {
  @ApiPropertyOptional({ description: 'Version after which to read (from the previous nextCursor)' })
  @IsOptional()
  @Matches(/^\d{1,15}$/, { message: 'cursor must be a cursor returned by this API' })
  cursor?: string;

  @PageLimit()
  limit?: number;
}
