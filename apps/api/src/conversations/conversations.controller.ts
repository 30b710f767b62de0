import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import {
  activeLineageMessages,
  allMessages,
  ConversationState,
  lineageMessages,
  toThreadStatus,
} from '@app/conversation';
import { ALL_TENANTS, Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiError, problem } from '../common/api-error';
import {
  ApiCommandHeaders,
  ApiCommandProblems,
  ApiProblems,
  ApiReadProblems,
  ApiRecordedReadProblems,
  COMMAND_503,
  ProblemDto,
} from '../common/api-problems.decorator';
import { UuidPipe } from '../common/uuid.pipe';
import { noteRead, RecordsAccess } from '../access-log/records-access';
import { commandContext } from './command-request';
import { AppendMessageCommand } from './commands/append-message.handler';
import { ClearSafetyRiskCommand } from './commands/clear-safety-risk.handler';
import type { Appended, ConversationBusCommand } from './commands/conversation-commands';
import { EndConversationCommand } from './commands/end-conversation.handler';
import { FlagSafetyRiskCommand } from './commands/flag-safety-risk.handler';
import { IssueWarningCommand } from './commands/issue-warning.handler';
import { RecordRedirectionCommand } from './commands/record-redirection.handler';
import { RequestEndCommand } from './commands/request-end.handler';
import { StartConversationCommand } from './commands/start-conversation.handler';
import { SubmitFeedbackCommand } from './commands/submit-feedback.handler';
import * as dto from './dto/command-bodies.dto';
import {
  AsOfQueryDto,
  CommandResultDto,
  EndBlockedProblemDto,
  MessagesDto,
  MessagesQueryDto,
  ThreadStatusDto,
} from './dto/responses.dto';
import { GetConversationQuery, GetReadableConversationQuery } from './queries/get-conversation.query';
import { GetThreadStatusQuery } from './queries/get-thread-status.query';
import { OnReplica, ReadsFrom } from '../projections/wait-for.interceptor';

const ETAG = {
  ETag: { description: 'The version of the conversation after this command, e.g. "4"', schema: { type: 'string' } },
};
const APPENDED = ApiCreatedResponse({
  type: CommandResultDto,
  description: 'Appended (or the first answer again, for a replay)',
  headers: ETAG,
});
const ID = ApiParam({ name: 'id', format: 'uuid', description: 'The conversation id' });
const FLAG_ID = ApiParam({ name: 'flagId', format: 'uuid', description: 'The risk flag id' });

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
  @ApiOperation({ summary: 'Start a conversation (optionally forked from a message of another)' })
  @APPENDED
  @ApiCommandHeaders()
  @ApiProblems(
    400,
    401,
    403,
    [409, 'CONVERSATION_EXISTS (the id is taken, in this tenant or another), VERSION_CONFLICT'],
    412,
    413,
    415,
    [422, 'UNKNOWN_FORK_SOURCE (forkedFrom names no message of this tenant), IDEMPOTENCY_KEY_REUSED'],
    COMMAND_503,
  )
  async start(
    @Body() body: dto.StartConversationDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const tenantId = this.tenantForNewConversation(who, body.tenantId);
    const conversationId = body.conversationId ?? randomUUID();
    if (body.forkedFrom) await this.assertForkSource(body.forkedFrom, who, tenantId);
    const { tenantId: _t, conversationId: _c, ...rest } = body;
    const context = commandContext(req, who, body);
    return this.send(res, new StartConversationCommand(conversationId, { ...rest, conversationId, tenantId }, context));
  }

  @Post(':id/messages')
  @ID
  @Roles('writer', 'operator')
  @ApiOperation({ summary: 'Append a message; a parent above an end point starts a new branch (edit)' })
  @APPENDED
  @ApiCommandProblems()
  appendMessage(
    @Param('id', UuidPipe) id: string,
    @Body() body: dto.AppendMessageDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const data = { ...body, messageId: body.messageId ?? randomUUID() };
    return this.send(res, new AppendMessageCommand(id, data, commandContext(req, who, body)));
  }

  @Post(':id/redirections')
  @ID
  @Roles('writer', 'operator')
  @ApiOperation({ summary: 'Record that an assistant message tried to redirect the conversation' })
  @APPENDED
  @ApiCommandProblems()
  redirect(
    @Param('id', UuidPipe) id: string,
    @Body() body: dto.RecordRedirectionDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    return this.send(res, new RecordRedirectionCommand(id, body, commandContext(req, who, body)));
  }

  @Post(':id/warnings')
  @ID
  @Roles('writer', 'operator')
  @ApiOperation({ summary: 'Record a warning given by an assistant message' })
  @APPENDED
  @ApiCommandProblems()
  warn(
    @Param('id', UuidPipe) id: string,
    @Body() body: dto.IssueWarningDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    return this.send(res, new IssueWarningCommand(id, body, commandContext(req, who, body)));
  }

  @Post(':id/end-requests')
  @ID
  @Roles('writer', 'operator')
  @ApiOperation({ summary: 'Record that the user explicitly asked to end the chat' })
  @APPENDED
  @ApiCommandProblems()
  requestEnd(
    @Param('id', UuidPipe) id: string,
    @Body() body: dto.RequestEndDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    return this.send(res, new RequestEndCommand(id, body, commandContext(req, who, body)));
  }

  @Post(':id/end')
  @ID
  @Roles('writer', 'operator')
  @ApiOperation({
    summary: 'End the lineage at a message, under the guard rules',
    description: 'A blocked end is recorded (EndAttemptBlocked) and answered 409 END_BLOCKED with every failed guard.',
  })
  @APPENDED
  @ApiExtraModels(EndBlockedProblemDto)
  // Above ApiCommandProblems: the decorator applied last (written first) wins for a status.
  @ApiResponse({
    status: 409,
    description: 'END_BLOCKED (the attempt is recorded; with `failedGuards`), LINEAGE_ENDED, VERSION_CONFLICT, …',
    headers: ETAG,
    content: {
      'application/problem+json': {
        schema: { anyOf: [{ $ref: getSchemaPath(EndBlockedProblemDto) }, { $ref: getSchemaPath(ProblemDto) }] },
      },
    },
  })
  @ApiCommandProblems()
  async end(
    @Param('id', UuidPipe) id: string,
    @Body() body: dto.EndConversationDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    if (body.initiator === 'operator' && who.role !== 'operator' && who.role !== 'admin') {
      throw new ApiError(403, 'FORBIDDEN', 'only operator and admin keys may end as operator');
    }
    const result = await this.commands.execute(new EndConversationCommand(id, body, commandContext(req, who, body)));
    void res.header('etag', `"${result.version}"`);
    if (!('blocked' in result)) {
      void res.status(201);
      return result;
    }
    const { blocked, version, position } = result;
    void res.status(409).header('content-type', 'application/problem+json');
    const detail = `the end was blocked by ${blocked.failedGuards.join(', ')}; the attempt is recorded`;
    return problem(409, 'END_BLOCKED', detail, {
      failedGuards: blocked.failedGuards,
      blockedEventId: blocked.blockedEventId,
      version,
      position,
    });
  }

  @Post(':id/feedback')
  @ID
  @Roles('writer', 'operator')
  @ApiOperation({ summary: "Record the user's feedback (also on ended conversations)" })
  @APPENDED
  @ApiCommandProblems()
  feedback(
    @Param('id', UuidPipe) id: string,
    @Body() body: dto.SubmitFeedbackDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    return this.send(res, new SubmitFeedbackCommand(id, body, commandContext(req, who, body)));
  }

  @Post(':id/risk-flags')
  @ID
  @Roles('operator')
  @ApiOperation({ summary: 'Flag a risk of harm to self or others: every end is blocked until it is cleared' })
  @APPENDED
  @ApiCommandProblems()
  flag(
    @Param('id', UuidPipe) id: string,
    @Body() body: dto.FlagSafetyRiskDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    const data = { ...body, flagId: body.flagId ?? randomUUID() };
    return this.send(res, new FlagSafetyRiskCommand(id, data, commandContext(req, who, body)));
  }

  @Post(':id/risk-flags/:flagId/clear')
  @ID
  @FLAG_ID
  @Roles('operator')
  @ApiOperation({ summary: 'Clear a risk flag' })
  @APPENDED
  @ApiCommandProblems()
  clearFlag(
    @Param('id', UuidPipe) id: string,
    @Param('flagId', UuidPipe) flagId: string,
    @Body() body: dto.ClearSafetyRiskDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ) {
    return this.send(res, new ClearSafetyRiskCommand(id, { flagId, ...body }, commandContext(req, who, body)));
  }

  @Get(':id')
  @ID
  @Roles('writer', 'operator', 'auditor')
  @ApiOperation({ summary: 'Thread status, now or as of a version or time' })
  @ApiOkResponse({ type: ThreadStatusDto })
  @ApiReadProblems(404)
  // Never stale: on the primary, unless ?waitFor= names a position the replica has processed.
  @ReadsFrom('replica-when-reached')
  async status(
    @Param('id', UuidPipe) id: string,
    @Query() query: AsOfQueryDto,
    @CurrentPrincipal() who: Principal,
    @OnReplica() onReplica: boolean,
  ) {
    if (query.asOfVersion === undefined && query.asOf === undefined) {
      return this.queries.execute(new GetThreadStatusQuery(id, who, onReplica));
    }
    return toThreadStatus(await this.load(id, who, query));
  }

  @Get(':id/messages')
  @ID
  @Roles('writer', 'operator', 'auditor')
  @ApiOperation({ summary: 'The active lineage root first; ?leaf= another lineage; ?tree=true every message' })
  @ApiOkResponse({ type: MessagesDto })
  @ApiRecordedReadProblems(404, [422, 'UNKNOWN_MESSAGE: ?leaf= names no message of the conversation'])
  @RecordsAccess()
  async messages(
    @Param('id', UuidPipe) id: string,
    @Query() query: MessagesQueryDto,
    @CurrentPrincipal() who: Principal,
    @Req() request: FastifyRequest,
  ) {
    const { state, marks } = await this.queries.execute(
      new GetReadableConversationQuery(id, who, { version: query.asOfVersion, time: query.asOf }),
    );
    noteRead(request, state.tenantId, [id]);
    const all =
      query.tree === 'true'
        ? allMessages(state)
        : query.leaf
          ? lineageMessages(state, query.leaf)
          : activeLineageMessages(state);
    const from = Number(query.cursor ?? 0);
    const limit = query.limit ?? 50;
    return {
      // content null: erased (contentErased) or unreadable (contentUnreadable)
      items: all.slice(from, from + limit).map((m) => ({ ...m, ...marks.get(m.messageId) })),
      nextCursor: from + limit < all.length ? String(from + limit) : null,
    };
  }

  private load(id: string, who: Principal, query: AsOfQueryDto): Promise<ConversationState> {
    return this.queries.execute(new GetConversationQuery(id, who, { version: query.asOfVersion, time: query.asOf }));
  }

  /** Dispatches a command and answers 201 with its result and its version as the ETag. */
  private async send<R extends Appended>(res: FastifyReply, command: ConversationBusCommand<unknown, R>): Promise<R> {
    const result = await this.commands.execute(command);
    void res.status(201).header('etag', `"${result.version}"`);
    return result;
  }

  private tenantForNewConversation(who: Principal, requested?: string): string {
    if (who.tenantId !== ALL_TENANTS) {
      if (requested !== undefined && requested !== who.tenantId) {
        throw new ApiError(403, 'FORBIDDEN', 'this key may only start conversations of its own tenant');
      }
      return who.tenantId;
    }
    if (!requested)
      throw ApiError.validation('a key of all tenants (*) must give tenantId', [
        { field: 'tenantId', messages: ['tenantId is required for * keys'] },
      ]);
    return requested;
  }

  private async assertForkSource(from: dto.ForkOriginDto, who: Principal, tenantId: string): Promise<void> {
    const source = await this.load(from.conversationId, who, {}).catch((err) => {
      throw err instanceof ApiError && err.status === 404
        ? new ApiError(422, 'UNKNOWN_FORK_SOURCE', 'forkedFrom names no conversation of this tenant')
        : err;
    });
    if (source.tenantId !== tenantId) {
      throw new ApiError(422, 'UNKNOWN_FORK_SOURCE', 'forkedFrom names no conversation of this tenant');
    }
    if (!source.messages[from.messageId]) {
      throw new ApiError(422, 'UNKNOWN_FORK_SOURCE', 'forkedFrom.messageId is not a message of that conversation');
    }
  }
}
