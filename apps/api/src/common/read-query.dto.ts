import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsPosition } from './is-position';

/** Every GET accepts `?waitFor=` (read-your-writes; the WaitForInterceptor acts on it). */
export class ReadQueryDto {
  @ApiPropertyOptional({
    description: 'A `position` from a command response: answer once the projections processed it (at most 5 s, then 503)',
    example: '7311-42',
  })
  @IsOptional()
  @IsPosition({ message: 'waitFor must be a position returned by this API' })
  waitFor?: string;
}
