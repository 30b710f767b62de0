import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** `?limit=` of every list: default 50, at most 500 (CONTRACT.md). */
export const PageLimit = () =>
  applyDecorators(
    ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 }),
    IsOptional(),
    Type(() => Number),
    IsInt(),
    Min(1),
    Max(500),
  );
