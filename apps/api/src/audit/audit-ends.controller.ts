import { Controller, Get, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiCappedReadProblems, ApiReadProblems } from '../common/api-problems.decorator';
import { Capped } from '../limits/audit-capacity';
import { BlockedEndsQueryDto, ComplianceQueryDto, EndsQueryDto, SampleQueryDto } from './dto/audit-query.dto';
import { AuditEndPageDto, BlockedEndPageDto, CompliancePageDto, SampleDto } from './dto/audit-responses.dto';
import { CheckComplianceQuery } from './queries/check-compliance.query';
import { ListBlockedEndsQuery } from './queries/list-blocked-ends.query';
import { ListEndsQuery } from './queries/list-ends.query';
import { SampleEndsQuery } from './queries/sample-ends.query';

const SCOPE = 'Keys of one tenant see that tenant only; `*` keys see all and may filter by tenantId.';

/** Ends, blocked attempts, the compliance re-check and the review sample (DOMAIN questions 1, 2, 5, 6). */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit')
export class AuditEndsController {
  constructor(private readonly queries: QueryBus) {}

  @Get('ends')
  @ApiOperation({ summary: 'Ends, newest first, with filters and keyset pagination', description: SCOPE })
  @ApiOkResponse({ type: AuditEndPageDto })
  @ApiReadProblems()
  ends(@Query() query: EndsQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new ListEndsQuery(query, who));
  }

  @Get('blocked-ends')
  @ApiOperation({ summary: 'Blocked end attempts (near-misses), newest first', description: SCOPE })
  @ApiOkResponse({ type: BlockedEndPageDto })
  @ApiReadProblems()
  blockedEnds(@Query() query: BlockedEndsQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new ListBlockedEndsQuery(query, who));
  }

  @Get('compliance')
  @ApiOperation({
    summary: 'Ends that break a guard of their own policy version (must be empty)',
    description:
      'Re-folds each end’s conversation from the event log up to just before the end and runs the guards of the end’s policy version again. ' +
      'Overturned ends are found with /v1/audit/ends?reviewOutcome=overturned. ' +
      SCOPE,
  })
  @ApiOkResponse({ type: CompliancePageDto })
  @ApiCappedReadProblems()
  @Capped()
  compliance(@Query() query: ComplianceQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new CheckComplianceQuery(query, who));
  }

  @Get('sample')
  @ApiOperation({
    summary: 'A reproducible random sample of ends (same seed, same sample)',
    description: 'Ordered by md5(seed ‖ endEventId); takes the filters of /v1/audit/ends. ' + SCOPE,
  })
  @ApiOkResponse({ type: SampleDto })
  @ApiCappedReadProblems()
  @Capped()
  sample(@Query() query: SampleQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new SampleEndsQuery(query, who));
  }
}
