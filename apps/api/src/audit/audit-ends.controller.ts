import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import { checkCompliance, listBlockedEnds, listEnds, sampleEnds } from '@app/audit';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiRecordedCappedReadProblems, ApiRecordedReadProblems } from '../common/api-problems.decorator';
import { NO_TENANT } from '@app/access';
import { RecordsAccess } from '../access-log/records-access';
import type { AccessTarget } from '../access-log/access-targets';
import { ReadDatabase } from '../database/read-database';
import { ReadsFrom } from '../projections/wait-for.interceptor';
import { Capped } from '../limits/audit-capacity';
import { BlockedEndsQueryDto, ComplianceQueryDto, EndsQueryDto, SampleQueryDto } from './dto/audit-query.dto';
import { AuditEndPageDto, BlockedEndPageDto, CompliancePageDto, SampleDto } from './dto/audit-responses.dto';
import { EMPTY_PAGE, inTenantScope } from './tenant-scoped';

const DEFAULT_SAMPLE_SIZE = 20;

/** The ends (or blocked attempts) an answer showed, by tenant (compliance rows without one: none in particular). */
const endTargets = (result: unknown): AccessTarget[] =>
  (result as { items: { tenantId: string | null; conversationId: string }[] }).items.map((end) => ({
    tenantId: end.tenantId ?? NO_TENANT,
    conversationIds: [end.conversationId],
  }));

const SCOPE = 'Keys of one tenant see that tenant only; `*` keys see all and may filter by tenantId.';

/**
 * Ends, blocked attempts, the compliance re-check and the review sample (DOMAIN questions 1, 2,
 * 5, 6): straight to @app/audit, within the caller's tenant scope, on the replica when there is
 * one. The heavy reads (the compliance re-fold, the sample) run on the small audit pool.
 */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@ReadsFrom('replica')
@Controller('v1/audit')
export class AuditEndsController {
  constructor(private readonly reads: ReadDatabase) {}

  @Get('ends')
  @ApiOperation({
    summary: 'Ends, newest first (or oldest first with order=asc), with filters and keyset pagination',
    description: SCOPE,
  })
  @ApiOkResponse({ type: AuditEndPageDto })
  @ApiRecordedReadProblems()
  @RecordsAccess(endTargets)
  ends(@Query() { limit, cursor, order, ...filters }: EndsQueryDto, @CurrentPrincipal() who: Principal) {
    return inTenantScope(who, filters.tenantId, EMPTY_PAGE, async (scope) =>
      listEnds((await this.reads.reads()).pool, { ...filters, ...scope }, { limit, cursor, order }),
    );
  }

  @Get('blocked-ends')
  @ApiOperation({
    summary: 'Blocked end attempts (near-misses), newest first (or oldest first with order=asc)',
    description: SCOPE,
  })
  @ApiOkResponse({ type: BlockedEndPageDto })
  @ApiRecordedReadProblems()
  @RecordsAccess(endTargets)
  blockedEnds(@Query() { limit, cursor, order, ...filters }: BlockedEndsQueryDto, @CurrentPrincipal() who: Principal) {
    return inTenantScope(who, filters.tenantId, EMPTY_PAGE, async (scope) =>
      listBlockedEnds((await this.reads.reads()).db, { ...filters, ...scope }, { limit, cursor, order }),
    );
  }

  @Get('compliance')
  @ApiOperation({
    summary: 'Ends that break a guard of their own policy version (must be empty)',
    description:
      'Re-folds each end’s conversation from the event log up to just before the end ' +
      'and runs the guards of the end’s policy version again. ' +
      'Overturned ends are found with /v1/audit/ends?reviewOutcome=overturned. ' +
      'Filters: the end’s reasonCode, modelId and policyVersion as recorded, ' +
      'and its time (from inclusive, to exclusive). ' +
      SCOPE,
  })
  @ApiOkResponse({ type: CompliancePageDto })
  @ApiRecordedCappedReadProblems()
  @Capped()
  @RecordsAccess(endTargets)
  compliance(@Query() { tenantId, ...options }: ComplianceQueryDto, @CurrentPrincipal() who: Principal) {
    return inTenantScope(who, tenantId, { ...EMPTY_PAGE, checkedEnds: 0 }, async (scope) =>
      checkCompliance(await this.reads.heavyPool(), { ...options, ...scope }),
    );
  }

  @Get('sample')
  @ApiOperation({
    summary: 'A reproducible random sample of ends (same seed, same sample)',
    description: 'Ordered by md5(seed ‖ endEventId); takes the filters of /v1/audit/ends. ' + SCOPE,
  })
  @ApiOkResponse({ type: SampleDto })
  @ApiRecordedCappedReadProblems()
  @Capped()
  @RecordsAccess(endTargets)
  async sample(@Query() query: SampleQueryDto, @CurrentPrincipal() who: Principal) {
    const { size = DEFAULT_SAMPLE_SIZE, seed = randomBytes(8).toString('hex'), ...filters } = query;
    const items = await inTenantScope(who, filters.tenantId, [], async (scope) =>
      sampleEnds(await this.reads.heavyPool(), { ...filters, ...scope }, { size, seed }),
    );
    return { seed, size, items, nextCursor: null };
  }
}
