import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiCreatedResponse,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'pg';
import { listHolds } from '@app/audit';
import type { AppConfig } from '@app/platform';
import { eraseSubject, openSubjectExport, placeLegalHold, releaseLegalHold, type SubjectCaller } from '@app/privacy';
import { AccessRecorder, accessLogUnavailable } from '../access-log/access-recorder';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import {
  ApiProblems,
  ApiReadProblems,
  ApiRecordedCappedReadProblems,
  ProblemDto,
} from '../common/api-problems.decorator';
import { UuidPipe } from '../common/uuid.pipe';
import { commandContext } from '../conversations/command-request';
import { APP_CONFIG, PG_POOL } from '../database/database.providers';
import { Capped } from '../limits/audit-capacity';
import { cutOffWhenStalled } from '../limits/stalled-response';
import { ContentProtection } from '../privacy/content-protection';
import { MAX_SUBJECT_ID, SubjectIdPipe, subjectTenant } from './subject-scope';
import {
  HoldCreatedDto,
  HoldsDto,
  LegalHoldProblemDto,
  SubjectErasureDto,
  SubjectRequestDto,
  SubjectHoldsQueryDto,
  SubjectTenantQueryDto,
} from './subjects.dto';

const SUBJECT = ApiParam({
  name: 'subjectId',
  description:
    `The subject id the conversations were started with: 1-${MAX_SUBJECT_ID} letters, digits or . _ : @ - ` +
    '(exact case), as POST /v1/conversations takes it',
  schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$' },
});
const HOLD = ApiParam({ name: 'holdId', format: 'uuid', description: 'Any letter case' });
const IDEMPOTENCY_KEY = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: 'Replays return the first answer and change nothing; 1-200 visible ASCII characters',
});
const WRITE_503: [number, string] = [503, 'DATABASE_TIMEOUT or DATABASE_UNAVAILABLE (with Retry-After)'];
const TENANT_403 = "FORBIDDEN: the key is not an admin's, or names another tenant than its own";

/**
 * Data subjects (DOMAIN "Erasure and holds"): erasure by key destruction, legal holds that stop
 * it, and the subject access export. Writes and the export are the admin's; auditors list holds.
 */
@ApiTags('subjects')
@ApiBearerAuth()
@Controller('v1/subjects')
export class SubjectsController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly content: ContentProtection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: AccessRecorder,
    private readonly keys: ApiKeyResolver,
  ) {}

  @Post(':subjectId/erasure')
  @HttpCode(200)
  @Roles()
  @SUBJECT
  @IDEMPOTENCY_KEY
  @ApiOperation({
    summary: "Erase a subject's content: destroy the content keys of every conversation the subject started",
    description:
      'One transaction under the subject’s lock: refused with 409 LEGAL_HOLD while a hold is open; else each ' +
      'conversation gets a ContentErased event (its ends, reasons, reviews and chain stay) and the subject’s ' +
      'stream a SubjectErased event. The keys are destroyed in every process before the answer. Text stored ' +
      'before content encryption cannot be erased this way: plaintextEventsNotErasable counts it.',
  })
  @ApiOkResponse({ type: SubjectErasureDto, description: 'Erased (or the first answer again, for a replay)' })
  @ApiExtraModels(LegalHoldProblemDto)
  @ApiResponse({
    status: 409,
    description:
      'LEGAL_HOLD: the subject is under legal hold; `holds` names the open holds. VERSION_CONFLICT: messages ' +
      'kept coming to its conversations while the erasure was tried (eight tries, with waits between); nothing ' +
      'was erased, try again',
    content: {
      'application/problem+json': {
        schema: { anyOf: [{ $ref: getSchemaPath(LegalHoldProblemDto) }, { $ref: getSchemaPath(ProblemDto) }] },
      },
    },
  })
  @ApiProblems(400, 401, [403, TENANT_403], 413, 415, 422, WRITE_503)
  async erase(
    @Param('subjectId', SubjectIdPipe) subjectId: string,
    @Body() body: SubjectRequestDto,
    @Req() request: FastifyRequest,
    @CurrentPrincipal() who: Principal,
  ): Promise<SubjectErasureDto> {
    const tenantId = subjectTenant(who, body.tenantId);
    const erased = await eraseSubject(this.pool, { tenantId, subjectId }, body.reason, this.caller(request, who, body));
    // This process forgets the keys before it answers; the others at the commit's NOTIFY.
    for (const kid of erased.keyIds) this.content.keys.destroyed(kid);
    const { conversations, erasedAt, plaintextEventsNotErasable, erasureId, otherLetterCases } = erased;
    return {
      conversations,
      erasedAt,
      plaintextEventsNotErasable,
      erasureId,
      ...(otherLetterCases.length ? { otherLetterCases } : {}),
    };
  }

  @Post(':subjectId/holds')
  @Roles()
  @SUBJECT
  @IDEMPOTENCY_KEY
  @ApiOperation({
    summary: 'Place a legal hold on a subject: erasure and retention leave its content alone until released',
    description: 'Recorded as a LegalHoldPlaced event in the subject’s stream, which the tenant’s auditors see.',
  })
  @ApiCreatedResponse({ type: HoldCreatedDto, description: 'Placed (or the first answer again, for a replay)' })
  @ApiProblems(400, 401, [403, TENANT_403], 413, 415, 422, WRITE_503)
  async placeHold(
    @Param('subjectId', SubjectIdPipe) subjectId: string,
    @Body() body: SubjectRequestDto,
    @Req() request: FastifyRequest,
    @CurrentPrincipal() who: Principal,
  ): Promise<HoldCreatedDto> {
    const tenantId = subjectTenant(who, body.tenantId);
    const { holdId } = await placeLegalHold(
      this.pool,
      { tenantId, subjectId },
      body.reason,
      this.caller(request, who, body),
    );
    return { holdId };
  }

  @Delete(':subjectId/holds/:holdId')
  @HttpCode(204)
  @Roles()
  @SUBJECT
  @HOLD
  @ApiOperation({
    summary: 'Release a legal hold',
    description: 'Recorded as a LegalHoldReleased event. Another tenant’s or subject’s hold is 404, as an unknown one.',
  })
  @ApiNoContentResponse({ description: 'Released' })
  @ApiProblems(
    400,
    401,
    [403, TENANT_403],
    [404, 'NOT_FOUND: no such hold of this tenant and subject'],
    [409, 'HOLD_ALREADY_RELEASED (with `releasedAt`)'],
    WRITE_503,
  )
  async releaseHold(
    @Param('subjectId', SubjectIdPipe) subjectId: string,
    @Param('holdId', UuidPipe) holdId: string,
    @Query() query: SubjectTenantQueryDto,
    @CurrentPrincipal() who: Principal,
  ): Promise<void> {
    const tenantId = subjectTenant(who, query.tenantId);
    await releaseLegalHold(this.pool, { tenantId, subjectId }, holdId, { keyId: who.keyId, holder: who.holder });
  }

  @Get(':subjectId/holds')
  @Roles('auditor')
  @SUBJECT
  @ApiOperation({ summary: "A subject's legal holds, open and released, newest first, a page at a time" })
  @ApiOkResponse({ type: HoldsDto })
  @ApiReadProblems([403, "FORBIDDEN: the key's role may not read holds, or it names another tenant"])
  async holds(
    @Param('subjectId', SubjectIdPipe) subjectId: string,
    @Query() query: SubjectHoldsQueryDto,
    @CurrentPrincipal() who: Principal,
  ): Promise<HoldsDto> {
    const tenantId = subjectTenant(who, query.tenantId);
    return listHolds(this.pool, { tenantId, subjectId }, { limit: query.limit, cursor: query.cursor });
  }

  @Get(':subjectId/export')
  @Roles()
  @SUBJECT
  @ApiOperation({
    summary: 'Subject access: every conversation of the subject with its content, as NDJSON with a manifest',
    description:
      'One line per conversation the subject started in the tenant: {"type":"conversation","conversationId",' +
      '"status":{…as the thread status},"messages":[{…, "content": text or null, "contentErased"?: true}],' +
      '"ends":[{…, "explanation"?: text or null, "contentErased"?: true}], "notes":[{type (FeedbackSubmitted, ' +
      'SafetyRiskCleared or EndDecisionReviewed), eventId, occurredAt, data (comment or note: text or null), ' +
      '"contentErased"?: true}]}. The last line: ' +
      '{"type":"manifest","count":N,"sha256":"<hex of every byte before this line>","subjectId","tenantId"}; ' +
      'a response without it is incomplete. The read is recorded in the access log before a byte is sent.',
  })
  @ApiOkResponse({
    description: 'NDJSON, streamed; the last line is the manifest',
    content: { 'application/x-ndjson': { schema: { type: 'string', description: 'One JSON object a line' } } },
  })
  @ApiRecordedCappedReadProblems([403, TENANT_403])
  @Capped()
  async export(
    @Param('subjectId', SubjectIdPipe) subjectId: string,
    @Query() query: SubjectTenantQueryDto,
    @CurrentPrincipal() who: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const tenantId = subjectTenant(who, query.tenantId);
    this.access.assertRoom();
    const opened = await openSubjectExport(this.pool, this.content.keys, { tenantId, subjectId });
    // Recorded before a byte is sent: the subject's conversations (none: the subject alone).
    if (!this.access.tryRecord(request, [{ tenantId, conversationIds: opened.conversationIds }])) {
      await opened.close();
      throw accessLogUnavailable();
    }
    cutOffWhenStalled(reply.raw, this.config.limits.exportIdleTimeoutMs);
    const unwatch = this.keys.watch(who, () => reply.raw.destroy());
    reply.raw.once('close', () => {
      unwatch();
      void opened.close();
    });
    await reply
      .header('content-type', 'application/x-ndjson')
      .header('cache-control', 'no-store')
      .send(Readable.from(opened.lines));
  }

  private caller(request: FastifyRequest, who: Principal, body: unknown): SubjectCaller {
    const idempotency = commandContext(request, who, body).idempotency;
    return {
      keyId: who.keyId,
      holder: who.holder,
      ...(idempotency ? { idempotency: { scope: who.tenantId, ...idempotency } } : {}),
    };
  }
}
