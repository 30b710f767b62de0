import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ReviewEndDecision } from '@app/conversation';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiError } from '../common/api-error';
import { ApiProblems } from '../common/api-problems.decorator';
import { Capped } from '../limits/audit-capacity';
import { ReadQueryDto } from '../common/read-query.dto';
import { commandContext } from '../conversations/command-request';
import { ExecuteConversationCommand } from '../conversations/commands/conversation-command';
import type { CommandOutcome } from '../conversations/commands/execute-conversation-command.handler';
import { ReviewEndDecisionDto } from '../conversations/dto/command-bodies.dto';
import { ReviewResultDto, TimelineDto } from './dto/audit-responses.dto';
import { GetTimelineQuery } from './queries/get-timeline.query';

const uuid = new ParseUUIDPipe({ exceptionFactory: () => ApiError.validation('the conversation id must be a UUID') });

/** One conversation under audit: its verified timeline, and reviews of its ends (DOMAIN questions 3, 5). */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('v1/audit/conversations')
export class AuditConversationsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Get(':id/timeline')
  @ApiOperation({
    summary: "A conversation's every event with position, time, actor and hash, and its hash chain verified",
    description: 'chain.brokenAtVersion names the first event whose link does not verify. Another tenant’s conversation is 404.',
  })
  @ApiOkResponse({ type: TimelineDto })
  @ApiProblems(400, 401, 403, 404, 429, 503)
  @Capped()
  timeline(@Param('id', uuid) id: string, @Query() _query: ReadQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new GetTimelineQuery(id, who));
  }

  @Post(':id/reviews')
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays return the first answer' })
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag last seen, e.g. "3" (412 if stale)' })
  @ApiOperation({
    summary: 'Review an end decision: EndDecisionReviewed is appended to the conversation',
    description: 'reviewerId is the calling API key. `reclassified` needs newReasonCode; `upheld` takes no errorType.',
  })
  @ApiCreatedResponse({ type: ReviewResultDto })
  @ApiProblems(400, 401, 403, 404, 409, 412, 422)
  async review(
    @Param('id', uuid) id: string,
    @Body() body: ReviewEndDecisionDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ): Promise<ReviewResultDto> {
    const context = commandContext(req, who, body);
    const command: ReviewEndDecision = { type: 'ReviewEndDecision', data: { ...body, reviewId: randomUUID(), reviewerId: who.keyId } };
    const outcome: CommandOutcome = await this.commands.execute(new ExecuteConversationCommand(id, command, context));
    void res.status(201).header('etag', `"${outcome.version}"`);
    const reviewId = (outcome.events[0].data as { reviewId: string }).reviewId;
    return { reviewId, version: outcome.version, position: outcome.position };
  }
}
