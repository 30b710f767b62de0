import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { blockedEndStats, endStats, listPolicies, reviewStats } from '@app/audit';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiReadProblems } from '../common/api-problems.decorator';
import { ReadDatabase } from '../database/read-database';
import { ReadsFrom } from '../projections/wait-for.interceptor';
import { BlockedEndStatsQueryDto, EndStatsQueryDto, NoQueryDto, ReviewStatsQueryDto } from './dto/audit-query.dto';
import { BlockedEndStatsDto, EndStatsDto, PolicyListDto, ReviewStatsDto } from './dto/audit-responses.dto';
import { inTenantScope } from './tenant-scoped';

/**
 * Counts: ends per period beside conversations started, blocked attempts, review outcomes
 * (DOMAIN questions 2, 4, 7); and the stored policy versions the ends were judged by. On the
 * replica when there is one.
 */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@ReadsFrom('replica')
@Controller('v1/audit')
export class AuditStatsController {
  constructor(private readonly reads: ReadDatabase) {}

  @Get('stats/ends')
  @ApiOperation({
    summary:
      'Ends by reason code, model, initiator or review outcome per day or ISO week, beside conversations started',
    description:
      'Filters as /v1/audit/ends (from and to: the UTC days overlapping [from, to) are counted). ' +
      'conversationsStarted counts the conversations started in the bucket (of the model, when modelId is given); ' +
      'ratePer1000 = ends per 1,000 of them. Keys of one tenant count their tenant only.',
  })
  @ApiOkResponse({ type: EndStatsDto })
  @ApiReadProblems()
  endStats(@Query() query: EndStatsQueryDto, @CurrentPrincipal() who: Principal) {
    return inTenantScope(who, query.tenantId, { buckets: [] }, async (scope) =>
      endStats((await this.reads.reads()).pool, { ...query, ...scope }),
    );
  }

  @Get('stats/blocked-ends')
  @ApiOperation({
    summary: 'Blocked end attempts counted by guard, model or proposed reason code',
    description:
      'Filters as /v1/audit/blocked-ends. total: the attempts matching; by guard, an attempt counts once for ' +
      'each guard it failed. Keys of one tenant count their tenant only.',
  })
  @ApiOkResponse({ type: BlockedEndStatsDto })
  @ApiReadProblems()
  blockedEndStats(@Query() { groupBy, ...filters }: BlockedEndStatsQueryDto, @CurrentPrincipal() who: Principal) {
    return inTenantScope(who, filters.tenantId, { groupBy, total: 0, items: [] }, async (scope) =>
      blockedEndStats((await this.reads.reads()).db, { ...filters, ...scope }, groupBy),
    );
  }

  @Get('policies')
  @ApiOperation({
    summary: 'Every stored policy version, newest first, with its reason codes and the rule of each guard',
    description: 'As stored at first use (PolicyVersionRecorded); the same for every tenant.',
  })
  @ApiOkResponse({ type: PolicyListDto })
  @ApiReadProblems()
  // the query is validated: an unknown parameter is a 400
  async policies(@Query() _query: NoQueryDto) {
    return listPolicies((await this.reads.reads()).pool);
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
    return inTenantScope(who, query.tenantId, none, async (scope) =>
      reviewStats((await this.reads.reads()).pool, { ...query, ...scope }),
    );
  }
}
