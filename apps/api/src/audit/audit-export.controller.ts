import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'pg';
import {
  BUNDLE_FILES,
  BundleLogBehind,
  BundleSigningKeyMissing,
  EndFilters,
  exportEndsStream,
  resolveTenantScope,
  tarOfFiles,
  writeAuditBundle,
} from '@app/audit';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import type { AppConfig } from '@app/platform';
import { ApiError } from '../common/api-error';
import { ApiCappedReadProblems } from '../common/api-problems.decorator';
import { AccessRecorder, accessLogUnavailable } from '../access-log/access-recorder';
import type { AccessTarget } from '../access-log/access-targets';
import { APP_CONFIG, PG_POOL } from '../database/database.providers';
import { ReadDatabase } from '../database/read-database';
import { Capped } from '../limits/audit-capacity';
import { BulkReadPacer } from '../limits/bulk-read-pacer';
import { cutOffWhenStalled } from '../limits/stalled-response';
import { TransparencyLogService } from '../transparency-log/transparency-log.service';
import { ExportQueryDto } from './dto/audit-query.dto';
import { ReadsFrom } from '../projections/wait-for.interceptor';
import { ContentProtection } from '../privacy/content-protection';

/** Seconds to wait after 503 LOG_BEHIND (the sequencer takes a batch every 100 ms). */
const LOG_BEHIND_RETRY_AFTER_S = 5;

/**
 * The signed export (DOMAIN question 8), read on the replica when there is one (its access
 * entries are written on the primary, as every write).
 */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@ReadsFrom('replica')
@Controller('v1/audit')
export class AuditExportController {
  constructor(
    private readonly reads: ReadDatabase,
    @Inject(PG_POOL) private readonly primary: Pool,
    private readonly keys: ApiKeyResolver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tlog: TransparencyLogService,
    private readonly access: AccessRecorder,
    private readonly pacer: BulkReadPacer,
    private readonly content: ContentProtection,
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
      'A response without that line is incomplete. ' +
      'With bundle=1: the same ends and the whole of their conversations (each once, from version 1) as a signed ' +
      'audit bundle in one ustar archive (application/x-tar): events.ndjson (one {"stored": {…as hashed}, ' +
      '"end"?: {…}} a line), proofs.ndjson (an inclusion proof of each conversation’s last event), checkpoint.txt ' +
      '(the signed checkpoint covering them), verifier-key.txt, manifest.json and manifest.sig (a signed note over ' +
      'the manifest’s SHA-256). Check it offline: npx conversation-audit-verify --key <verifier key> bundle.tar.',
  })
  @ApiOkResponse({
    description: 'NDJSON, streamed; the last line is the manifest (bundle=1: a ustar archive of the bundle’s files)',
    content: {
      'application/x-ndjson': { schema: { type: 'string', description: 'One JSON object a line' } },
      'application/x-tar': { schema: { type: 'string', format: 'binary', description: 'The bundle’s files' } },
    },
  })
  @ApiCappedReadProblems([
    503,
    'ACCESS_LOG_UNAVAILABLE (reads of content are recorded and the access log cannot take more entries now; ' +
      'with Retry-After), BUSY (too many such requests at once; with Retry-After), WAIT_FOR_TIMEOUT, ' +
      'DATABASE_TIMEOUT or DATABASE_UNAVAILABLE (with Retry-After); with bundle=1 also LOG_BEHIND ' +
      '(the transparency log has not yet ' +
      'sequenced the export’s position, or its latest checkpoint is of a retired key; with Retry-After) and ' +
      'NO_SIGNING_KEY (this process has no signing key)',
  ])
  @Capped()
  async export(
    @Query() query: ExportQueryDto,
    @CurrentPrincipal() who: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { bundle, ...asked } = query;
    const scope = resolveTenantScope(who.tenantId, asked.tenantId);
    // Out of scope: an export of nothing, its manifest naming the tenant that was asked for.
    const filters: EndFilters = { ...asked, ...scope };
    // Each page of ends is recorded before its lines are written (an entry per tenant of the
    // page); when the access log cannot take it, the export stops there, without its manifest.
    this.access.assertRoom();
    if (bundle === '1') return this.bundle(filters, scope === null, who, request, reply);
    let recorded = false;
    const record = (targets: AccessTarget[]) => {
      if (!this.access.tryRecord(request, targets)) throw accessLogUnavailable();
      recorded = true;
    };
    const body = exportEndsStream(await this.reads.heavyPool(), {
      ...this.content.opening,
      filters,
      nothing: scope === null,
      onPage: (ends) => {
        if (ends.length) record(ends.map((end) => ({ tenantId: end.tenantId, conversationIds: [end.conversationId] })));
      },
      onManifest: () => recorded || record([]),
      // Under load the export gives way to the requests people wait on (see BulkReadPacer).
      pause: this.pacer.pause,
    });
    // A client that stops reading would hold the export's connection and snapshot: cut it off.
    cutOffWhenStalled(reply.raw, this.config.limits.exportIdleTimeoutMs);
    // So is an export whose key is revoked or expires while it runs, like an event stream.
    const unwatch = this.keys.watch(who, () => reply.raw.destroy());
    reply.raw.once('close', unwatch);
    await reply.header('content-type', 'application/x-ndjson').header('cache-control', 'no-store').send(body);
  }

  /**
   * The bundle is written to a temporary directory first (its files' sizes head the archive's
   * entries; memory stays bounded), then streamed as ustar; the directory goes with the response.
   * Refusals before the first byte are problem+json.
   */
  private async bundle(
    filters: EndFilters,
    nothing: boolean,
    who: Principal,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'audit-bundle-'));
    const abort = new AbortController();
    const unwatch = this.keys.watch(who, () => {
      abort.abort();
      reply.raw.destroy();
    });
    reply.raw.once('close', () => {
      unwatch();
      abort.abort();
      rmSync(dir, { recursive: true, force: true });
    });
    let createdAt: Date;
    const targets: AccessTarget[] = [];
    try {
      const manifest = await writeAuditBundle(await this.reads.heavyPool(), this.tlog.log, dir, {
        ...this.content.opening,
        filters,
        nothing,
        // The checkpoint is the primary's latest: a replica may not have replayed its tree yet.
        proofPool: this.primary,
        signal: abort.signal,
        onConversation: (read) => targets.push({ tenantId: read.tenantId, conversationIds: [read.conversationId] }),
      });
      createdAt = new Date(manifest.createdAt);
      // Recorded before a byte is sent: the bundle's conversations, by tenant (none: the filter alone).
      if (!this.access.tryRecord(request, targets)) throw accessLogUnavailable();
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      // The client went away, or the key ended: nobody to answer.
      if (abort.signal.aborted) return;
      if (err instanceof BundleLogBehind)
        throw ApiError.unavailable('LOG_BEHIND', err.message, LOG_BEHIND_RETRY_AFTER_S);
      if (err instanceof BundleSigningKeyMissing) throw new ApiError(503, 'NO_SIGNING_KEY', err.message);
      throw err;
    }
    const body = tarOfFiles(dir, BUNDLE_FILES, createdAt.getTime() / 1000);
    cutOffWhenStalled(reply.raw, this.config.limits.exportIdleTimeoutMs);
    const name = `audit-bundle-${createdAt.toISOString().replace(/[:.]/g, '-')}.tar`;
    await reply
      .header('content-type', 'application/x-tar')
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'no-store')
      .send(body);
  }
}
