import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import {
  activeLineageMessages,
  allMessages,
  ConversationCommand,
  ConversationState,
  lineageMessages,
  toThreadStatus,
} from '@app/conversation';
import { ALL_TENANTS, Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiError, problem } from '../common/api-error';
import { ApiProblems } from '../common/api-problems.decorator';
import { UuidPipe } from '../common/uuid.pipe';
import { commandContext } from './command-request';
import { ExecuteConversationCommand } from './commands/conversation-command';
import type { CommandOutcome } from './commands/execute-conversation-command.handler';
import * as dto from './dto/command-bodies.dto';
import { AsOfQueryDto, CommandResultDto, EndBlockedProblemDto, MessagesDto, MessagesQueryDto, ThreadStatusDto } from './dto/responses.dto';
import { GetConversationQuery } from './queries/get-conversation.query';
import { GetThreadStatusQuery } from './queries/get-thread-status.query';

const IDEMPOTENCY = ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays return the first answer' });
const IF_MATCH = ApiHeader({ name: 'If-Match', required: false, description: 'The ETag last seen, e.g. "3" (412 if stale)' });

@ApiTags('conversations')
@ApiBearerAuth()
@Controller('v1/conversations')
export class ConversationsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @Roles('writer', 'operator')
  @IDEMPOTENCY
  @ApiOperation({ summary: 'Start a conversation (optionally forked from a message of another)' })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 413, 422)
  async start(@Body() body: dto.StartConversationDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    const tenantId = this.tenantForNewConversation(who, body.tenantId);
    const conversationId = body.conversationId ?? randomUUID();
    if (body.forkedFrom) await this.assertForkSource(body.forkedFrom, who, tenantId);
    const { tenantId: _t, conversationId: _c, ...rest } = body;
    return this.run(conversationId, { type: 'StartConversation', data: { ...rest, conversationId, tenantId } }, req, res, who, body, (o) => ({
      conversationId: (o.events[0].data as { conversationId: string }).conversationId,
    }));
  }

  @Post(':id/messages')
  @Roles('writer', 'operator')
  @IDEMPOTENCY
  @IF_MATCH
  @ApiOperation({ summary: 'Append a message; a parent above an end point starts a new branch (edit)' })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 412, 413, 422)
  appendMessage(@Param('id', UuidPipe) id: string, @Body() body: dto.AppendMessageDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    const data = { ...body, messageId: body.messageId ?? randomUUID() };
    return this.run(id, { type: 'AppendMessage', data }, req, res, who, body, (o) => ({
      messageId: (o.events[0].data as { messageId: string }).messageId,
    }));
  }

  @Post(':id/redirections')
  @Roles('writer', 'operator')
  @IDEMPOTENCY
  @IF_MATCH
  @ApiOperation({ summary: 'Record that an assistant message tried to redirect the conversation' })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 412, 422)
  redirect(@Param('id', UuidPipe) id: string, @Body() body: dto.RecordRedirectionDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    return this.run(id, { type: 'RecordRedirection', data: body }, req, res, who, body);
  }

  @Post(':id/warnings')
  @Roles('writer', 'operator')
  @IDEMPOTENCY
  @IF_MATCH
  @ApiOperation({ summary: 'Record a warning given by an assistant message' })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 412, 422)
  warn(@Param('id', UuidPipe) id: string, @Body() body: dto.IssueWarningDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    return this.run(id, { type: 'IssueWarning', data: body }, req, res, who, body);
  }

  @Post(':id/end-requests')
  @Roles('writer', 'operator')
  @IDEMPOTENCY
  @IF_MATCH
  @ApiOperation({ summary: 'Record that the user explicitly asked to end the chat' })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 412, 422)
  requestEnd(@Param('id', UuidPipe) id: string, @Body() body: dto.RequestEndDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    return this.run(id, { type: 'RequestEnd', data: body }, req, res, who, body);
  }

  @Post(':id/end')
  @Roles('writer', 'operator')
  @IDEMPOTENCY
  @IF_MATCH
  @ApiOperation({
    summary: 'End the lineage at a message, under the guard rules',
    description: 'A blocked end is recorded (EndAttemptBlocked) and answered 409 END_BLOCKED with every failed guard.',
  })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiConflictResponse({ type: EndBlockedProblemDto, description: 'END_BLOCKED (recorded), LINEAGE_ENDED, VERSION_CONFLICT' })
  @ApiProblems(400, 401, 403, 404, 412, 422)
  end(@Param('id', UuidPipe) id: string, @Body() body: dto.EndConversationDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    if (body.initiator === 'operator' && who.role !== 'operator' && who.role !== 'admin') {
      throw new ApiError(403, 'FORBIDDEN', 'only operator and admin keys may end as operator');
    }
    return this.run(id, { type: 'EndConversation', data: body }, req, res, who, body, (o) => ({ endEventId: o.events[0].eventId }));
  }

  @Post(':id/feedback')
  @Roles('writer', 'operator')
  @IDEMPOTENCY
  @ApiOperation({ summary: "Record the user's feedback (also on ended conversations)" })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 422)
  feedback(@Param('id', UuidPipe) id: string, @Body() body: dto.SubmitFeedbackDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    return this.run(id, { type: 'SubmitFeedback', data: body }, req, res, who, body);
  }

  @Post(':id/risk-flags')
  @Roles('operator')
  @IDEMPOTENCY
  @ApiOperation({ summary: 'Flag a risk of harm to self or others: every end is blocked until it is cleared' })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 422)
  flag(@Param('id', UuidPipe) id: string, @Body() body: dto.FlagSafetyRiskDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    const data = { ...body, flagId: body.flagId ?? randomUUID() };
    return this.run(id, { type: 'FlagSafetyRisk', data }, req, res, who, body, (o) => ({
      flagId: (o.events[0].data as { flagId: string }).flagId,
    }));
  }

  @Post(':id/risk-flags/:flagId/clear')
  @Roles('operator')
  @IDEMPOTENCY
  @ApiOperation({ summary: 'Clear a risk flag' })
  @ApiCreatedResponse({ type: CommandResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 422)
  clearFlag(@Param('id', UuidPipe) id: string, @Param('flagId', UuidPipe) flagId: string, @Body() body: dto.ClearSafetyRiskDto, @Req() req: FastifyRequest, @Res({ passthrough: true }) res: FastifyReply, @CurrentPrincipal() who: Principal) {
    return this.run(id, { type: 'ClearSafetyRisk', data: { flagId, ...body } }, req, res, who, body, () => ({ flagId }));
  }

  @Get(':id')
  @Roles('writer', 'operator', 'auditor')
  @ApiOperation({ summary: 'Thread status, now or as of a version or time' })
  @ApiOkResponse({ type: ThreadStatusDto })
  @ApiProblems(400, 401, 403, 404)
  async status(@Param('id', UuidPipe) id: string, @Query() query: AsOfQueryDto, @CurrentPrincipal() who: Principal) {
    if (query.asOfVersion === undefined && query.asOf === undefined) {
      return this.queries.execute(new GetThreadStatusQuery(id, who));
    }
    return toThreadStatus(await this.load(id, who, query));
  }

  @Get(':id/messages')
  @Roles('writer', 'operator', 'auditor')
  @ApiOperation({ summary: 'The active lineage root first; ?leaf= another lineage; ?tree=true every message' })
  @ApiOkResponse({ type: MessagesDto })
  @ApiProblems(400, 401, 403, 404, 422)
  async messages(@Param('id', UuidPipe) id: string, @Query() query: MessagesQueryDto, @CurrentPrincipal() who: Principal) {
    const state = await this.load(id, who, query);
    const all =
      query.tree === 'true' ? allMessages(state) : query.leaf ? lineageMessages(state, query.leaf) : activeLineageMessages(state);
    const from = Number(query.cursor ?? 0);
    const limit = query.limit ?? 50;
    return { items: all.slice(from, from + limit), nextCursor: from + limit < all.length ? String(from + limit) : null };
  }

  private load(id: string, who: Principal, query: AsOfQueryDto): Promise<ConversationState> {
    return this.queries.execute(new GetConversationQuery(id, who, { version: query.asOfVersion, time: query.asOf }));
  }

  private async run(
    id: string,
    command: ConversationCommand,
    req: FastifyRequest,
    res: FastifyReply,
    who: Principal,
    body: unknown,
    extra: (o: CommandOutcome) => Record<string, unknown> = () => ({}),
  ): Promise<Record<string, unknown>> {
    const context = commandContext(req, who, body);
    const outcome: CommandOutcome = await this.commands.execute(new ExecuteConversationCommand(id, command, context));
    void res.header('etag', `"${outcome.version}"`);
    const first = outcome.events[0];
    if (first?.type === 'EndAttemptBlocked') {
      const data = first.data as { failedGuards: string[] };
      void res.status(409).header('content-type', 'application/problem+json');
      return problem(409, 'END_BLOCKED', `the end was blocked by ${data.failedGuards.join(', ')}; the attempt is recorded`, {
        failedGuards: data.failedGuards,
        blockedEventId: first.eventId,
        version: outcome.version,
        position: outcome.position,
      });
    }
    void res.status(201);
    return { ...extra(outcome), version: outcome.version, position: outcome.position };
  }

  private tenantForNewConversation(who: Principal, requested?: string): string {
    if (who.tenantId !== ALL_TENANTS) {
      if (requested !== undefined && requested !== who.tenantId) {
        throw new ApiError(403, 'FORBIDDEN', 'this key may only start conversations of its own tenant');
      }
      return who.tenantId;
    }
    if (!requested) throw ApiError.validation('a key of all tenants (*) must give tenantId', [{ field: 'tenantId', messages: ['tenantId is required for * keys'] }]);
    return requested;
  }

  private async assertForkSource(from: dto.ForkOriginDto, who: Principal, tenantId: string): Promise<void> {
    const source = await this.load(from.conversationId, who, {}).catch((err) => {
      throw err instanceof ApiError && err.status === 404 ? new ApiError(422, 'UNKNOWN_FORK_SOURCE', 'forkedFrom names no conversation of this tenant') : err;
    });
    if (source.tenantId !== tenantId) {
      throw new ApiError(422, 'UNKNOWN_FORK_SOURCE', 'forkedFrom names no conversation of this tenant');
    }
    if (!source.messages[from.messageId]) {
      throw new ApiError(422, 'UNKNOWN_FORK_SOURCE', 'forkedFrom.messageId is not a message of that conversation');
    }
  }
}
