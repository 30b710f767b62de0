import { Controller, Get, Header } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.decorators';
import { ApiReadProblems } from '../common/api-problems.decorator';
import { MetricsService } from './metrics.service';

@ApiTags('operations')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Admin keys only: the figures span every tenant, so no tenant's key may read them. */
  @Get()
  @Roles()
  @Header('content-type', 'text/plain; version=0.0.4')
  @ApiOperation({
    summary: 'Prometheus metrics: request latency, appends, conflicts, projection lag (admin keys only)',
  })
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4',
    content: {
      'text/plain': {
        schema: {
          type: 'string',
          example: '# TYPE event_store_appended_events_total counter\nevent_store_appended_events_total 42\n',
        },
      },
    },
  })
  @ApiReadProblems()
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
