import { Controller, Get, Header } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.decorators';
import { ApiProblems } from '../common/api-problems.decorator';
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
  @ApiOperation({ summary: 'Prometheus metrics: request latency, appends, conflicts, projection lag (admin keys only)' })
  @ApiOkResponse({ description: 'Prometheus text exposition format' })
  @ApiProblems(401, 403)
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
