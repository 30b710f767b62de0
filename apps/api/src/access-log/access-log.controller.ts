import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { listAccess } from '@app/audit';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiRecordedReadProblems } from '../common/api-problems.decorator';
import { ReadDatabase } from '../database/read-database';
import { ReadsFrom } from '../projections/wait-for.interceptor';
import { EMPTY_PAGE, inTenantScope } from '../audit/tenant-scoped';
import { AccessPageDto, AccessQueryDto } from './access-log.dto';
import { AccessTarget } from './access-targets';
import { RecordsAccess } from './records-access';

/** Reading the access log is recorded too: an entry per tenant whose entries the page showed. */
const pageTargets = (result: unknown, request: { query?: unknown }): AccessTarget[] => {
  const asked = (request.query as { conversationId?: string } | undefined)?.conversationId;
  return (result as AccessPageDto).items.map((item) => ({
    tenantId: item.tenantId,
    conversationIds: asked ? [asked.toLowerCase()] : [],
  }));
};

/** Who read what (GET /v1/audit/access), from the access projection (rm_access), on the replica if any. */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@ReadsFrom('replica')
@Controller('v1/audit')
export class AccessLogController {
  constructor(private readonly reads: ReadDatabase) {}

  @Get('access')
  @ApiOperation({
    summary: 'Who read what: access entries, newest first, with filters and keyset pagination',
    description:
      'Every read of content or audit detail leaves an entry per tenant whose data it returned (key, role, ' +
      'route, conversations, query, request id), stored as a ContentAccessed event within about a second. ' +
      'Keys of one tenant see that tenant’s entries only (another tenant’s conversation id: an empty list); ' +
      '`*` keys see all. Reading this list is recorded too.',
  })
  @ApiOkResponse({ type: AccessPageDto })
  @ApiRecordedReadProblems()
  @RecordsAccess(pageTargets)
  access(@Query() { limit, cursor, ...filters }: AccessQueryDto, @CurrentPrincipal() who: Principal) {
    return inTenantScope(who, filters.tenantId, EMPTY_PAGE, async (scope) =>
      listAccess((await this.reads.reads()).pool, { ...filters, ...scope }, { limit, cursor }),
    );
  }
}
