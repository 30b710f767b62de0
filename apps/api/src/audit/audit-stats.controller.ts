import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Pool } from 'pg';
import { endStats, reviewStats } from '@app/audit';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiReadProblems } from '../common/api-problems.decorator';
import { PG_POOL } from '../database/database.providers';
import { EndStatsQueryDto, ReviewStatsQueryDto } from './dto/audit-query.dto';
import { EndStatsDto, ReviewStatsDto } from './dto/audit-responses.dto';
import { inTenantScope } from './tenant-scoped';

/** Counts: ends per period beside conversations started, and review outcomes (DOMAIN questions 4, 7). */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit')
export class AuditStatsController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get('stats/ends')
  @ApiOperation({
    summary: 'Ends by reason code or model per day or ISO week, beside conversations started',
    description:
      'ratePer1000 = ends per 1,000 conversations started in the bucket. Keys of one tenant count their tenant only.',
  })
  @ApiOkResponse({ type: EndStatsDto })
  @ApiReadProblems()
  endStats(@Query() query: EndStatsQueryDto, @CurrentPrincipal() who: Principal) {
    return inTenantScope(who, query.tenantId, { buckets: [] }, (scope) => endStats(this.pool, { ...query, ...scope }));
  }

  @Get('reviews/stats')
  @ApiOperation({
    summary: 'Review outcomes: overturn rate by reason, model and reviewer',
    description:
      'By reason and model, each reviewed end counts once with its latest outcome; by reviewer, every review counts.',
  })
  @ApiOkResponse({ type: ReviewStatsDto })
  @ApiReadProblems()
  reviewStats(@Query() query: ReviewStatsQueryDto, @CurrentPrincipal() who: Principal) {
    const none = { byReasonCode: [], byModelId: [], byReviewer: [] };
    return inTenantScope(who, query.tenantId, none, (scope) => reviewStats(this.pool, { ...query, ...scope }));
  }
}
