import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiReadProblems } from '../common/api-problems.decorator';
import { EndStatsQueryDto, ReviewStatsQueryDto } from './dto/audit-query.dto';
import { EndStatsDto, ReviewStatsDto } from './dto/audit-responses.dto';
import { GetEndStatsQuery } from './queries/end-stats.query';
import { GetReviewStatsQuery } from './queries/review-stats.query';

/** Counts: ends per period beside conversations started, and review outcomes (DOMAIN questions 4, 7). */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit')
export class AuditStatsController {
  constructor(private readonly queries: QueryBus) {}

  @Get('stats/ends')
  @ApiOperation({
    summary: 'Ends by reason code or model per day or ISO week, beside conversations started',
    description: 'ratePer1000 = ends per 1,000 conversations started in the bucket. Keys of one tenant count their tenant only.',
  })
  @ApiOkResponse({ type: EndStatsDto })
  @ApiReadProblems()
  endStats(@Query() query: EndStatsQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new GetEndStatsQuery(query, who));
  }

  @Get('reviews/stats')
  @ApiOperation({
    summary: 'Review outcomes: overturn rate by reason, model and reviewer',
    description: 'By reason and model, each reviewed end counts once with its latest outcome; by reviewer, every review counts.',
  })
  @ApiOkResponse({ type: ReviewStatsDto })
  @ApiReadProblems()
  reviewStats(@Query() query: ReviewStatsQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new GetReviewStatsQuery(query, who));
  }
}
