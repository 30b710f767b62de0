import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { parseUuid } from '@app/event-store';
import { PageLimit } from '../../common/page-limit';
import { IsUuid } from '../../common/is-uuid';

const MAX_SIZE = Number.MAX_SAFE_INTEGER;
const TREE_SIZE = (description: string, required = false) =>
  (required ? ApiProperty : ApiPropertyOptional)({ minimum: 0, maximum: MAX_SIZE, example: 1024, description });
/**
 * Only plain decimal digits become a number (`^\d{1,16}$`, then at most 2^53 - 1): an empty
 * value, `0x10`, `1e3`, ` 5`, `1.5` or `-1` stay strings and fail IsInt (Number() took them).
 */
export const strictSize = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
const SizeInt = () => applyDecorators(Transform(strictSize), IsInt(), Min(0), Max(MAX_SIZE));

/** `<prefix>-<uuid>` in any letter case: the stream id with its UUID in lower case. */
export function normalizeStreamId(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const m = /^(.+)-([0-9A-Fa-f-]{36})$/.exec(value);
  const id = m ? parseUuid(m[2]) : null;
  return m && id ? `${m[1]}-${id}` : value;
}

export class CheckpointsQueryDto {
  @ApiPropertyOptional({ description: 'The nextCursor of the previous page (opaque)', example: '1024' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{1,16}$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;

  @PageLimit() limit?: number;
}

export class InclusionQueryDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'The event (or give streamId and version)' })
  @IsOptional()
  @IsUuid()
  eventId?: string;

  @ApiPropertyOptional({ example: 'conversation-0f8e2d8a-3b7c-4d4e-9a51-2c6f0b1e7d10', maxLength: 200 })
  @IsOptional()
  @Transform(({ value }) => normalizeStreamId(value))
  @IsString()
  @MaxLength(200)
  streamId?: string;

  @ApiPropertyOptional({ minimum: 1, example: 3, description: 'With streamId' })
  @IsOptional()
  @Transform(strictSize)
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  version?: number;

  @TREE_SIZE('Default: the latest signed checkpoint’s size; at most the current tree’s')
  @IsOptional()
  @SizeInt()
  treeSize?: number;
}

export class ConsistencyQueryDto {
  @TREE_SIZE('The older tree size', true) @SizeInt() from!: number;
  @TREE_SIZE('The newer tree size, at most the current tree’s', true) @SizeInt() to!: number;
}
