import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'pg';
import { exportEndsStream, resolveTenantScope } from '@app/audit';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { AppConfig } from '@app/platform';
import { ApiRecordedCappedReadProblems } from '../common/api-problems.decorator';
import { AccessRecorder, accessLogUnavailable } from '../access-log/access-recorder';
import type { AccessTarget } from '../access-log/access-targets';
import { APP_CONFIG, AUDIT_POOL } from '../database/database.providers';
import { Capped } from '../limits/audit-capacity';
import { cutOffWhenStalled } from '../limits/stalled-response';
import { ExportQueryDto } from './dto/audit-query.dto';

/** The signed export (DOMAIN question 8). */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit')
export class AuditExportController {
  constructor(
    @Inject(AUDIT_POOL) private readonly pool: Pool,
    private readonly keys: ApiKeyResolver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: AccessRecorder,
  ) {}

  @Get('export')
  @ApiOperation({
    summary: 'Export ends with their conversations’ events as NDJSON, closed by a SHA-256 manifest line',
    description:
      'Takes the filters of /v1/audit/ends. One line per end, newest first: ' +
      '{"type":"end","end":{…as /ends},"events":[…as /events]}. ' +
      'The last line: ' +
      '{"type":"manifest","count":N,"sha256":"<hex of every byte before this line>","filters":{…},"position":"…"}, ' +
      'position being the ends projection checkpoint the whole export is consistent with. ' +
      'A response without that line is incomplete.',
  })
  @ApiOkResponse({
    description: 'NDJSON, streamed; the last line is the manifest',
    content: { 'application/x-ndjson': { schema: { type: 'string', description: 'One JSON object a line' } } },
  })
  @ApiRecordedCappedReadProblems()
  @Capped()
  async export(
    @Query() query: ExportQueryDto,
    @CurrentPrincipal() who: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const scope = resolveTenantScope(who.tenantId, query.tenantId);
    // Each page of ends is recorded before its lines are written (an entry per tenant of the
    // page); when the access log cannot take it, the export stops there, without its manifest.
    this.access.assertRoom();
    let recorded = false;
    const record = (targets: AccessTarget[]) => {
      if (!this.access.tryRecord(request, targets)) throw accessLogUnavailable();
      recorded = true;
    };
    // Out of scope: an export of nothing, its manifest naming the tenant that was asked for.
    const body = exportEndsStream(this.pool, {
      filters: { ...query, ...scope },
      nothing: scope === null,
      onPage: (ends) => {
        if (ends.length) record(ends.map((end) => ({ tenantId: end.tenantId, conversationIds: [end.conversationId] })));
      },
      onManifest: () => recorded || record([]),
    });
    // A client that stops reading would hold the export's connection and snapshot: cut it off.
    cutOffWhenStalled(reply.raw, this.config.limits.exportIdleTimeoutMs);
    // So is an export whose key is revoked or expires while it runs, like an event stream.
    const unwatch = this.keys.watch(who, () => reply.raw.destroy());
    reply.raw.once('close', unwatch);
    await reply.header('content-type', 'application/x-ndjson').header('cache-control', 'no-store').send(body);
  }
}
