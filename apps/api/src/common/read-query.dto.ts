import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';

/** Every GET accepts `?waitFor=` (read-your-writes; the WaitForInterceptor acts on it). */
export class ReadQueryDto {
  @ApiPropertyOptional({
    description: 'A `position` from a command response: answer once the projections processed it (at most 5 s, then 503)',
    example: '7311-42',
  })
  @IsOptional()
  @Matches(/^\d{1,20}-\d{1,19}$/, { message: 'waitFor must be a position returned by this API' })
  waitFor?: string;
}
