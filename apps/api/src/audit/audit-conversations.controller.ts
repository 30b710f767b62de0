import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiCommandProblems, ApiRecordedCappedReadProblems } from '../common/api-problems.decorator';
import { NO_TENANT } from '@app/access';
import { RecordsAccess } from '../access-log/records-access';
import { UuidPipe } from '../common/uuid.pipe';
import { Capped } from '../limits/audit-capacity';
import { NoQueryDto } from '../common/read-query.dto';
import { commandContext } from '../conversations/command-request';
import { ReviewEndDecisionDto } from '../conversations/dto/command-bodies.dto';
import { ReviewEndDecisionCommand } from './commands/review-end-decision.handler';
import { ReviewResultDto, TimelineDto } from './dto/audit-responses.dto';
import { GetTimelineQuery, Timeline } from './queries/get-timeline.query';
import { ReadsFrom } from '../projections/wait-for.interceptor';

/** The timeline's tenant: its ConversationStarted's. */
const timelineTargets = (result: unknown) => {
  const { conversationId, events } = result as Timeline;
  const tenantId = events[0]?.data.tenantId;
  return [{ tenantId: typeof tenantId === 'string' ? tenantId : NO_TENANT, conversationIds: [conversationId] }];
};

/** One conversation under audit: its verified timeline, and reviews of its ends (DOMAIN questions 3, 5). */
@ApiTags('audit')
@ApiBearerAuth()
@ApiParam({ name: 'id', format: 'uuid', description: 'The conversation id' })
@Roles('auditor')
// The timeline; the review is a command, on the primary (ReadsFrom concerns GETs only).
@ReadsFrom('replica')
@Controller('v1/audit/conversations')
export class AuditConversationsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Get(':id/timeline')
  @ApiOperation({
    summary: "A conversation's every event with position, time, actor and hash, and its hash chain verified",
    description:
      'chain.brokenAtVersion names the first event whose link does not verify. Another tenant’s conversation is 404.',
  })
  @ApiOkResponse({ type: TimelineDto })
  @ApiRecordedCappedReadProblems(404)
  @Capped()
  @RecordsAccess(timelineTargets)
  timeline(@Param('id', UuidPipe) id: string, @Query() _query: NoQueryDto, @CurrentPrincipal() who: Principal) {
    return this.queries.execute(new GetTimelineQuery(id, who));
  }

  @Post(':id/reviews')
  @ApiOperation({
    summary: 'Review an end decision: EndDecisionReviewed is appended to the conversation',
    description:
      'reviewerId is the calling API key. `reclassified` needs newReasonCode; `upheld` takes no errorType. ' +
      '409 SELF_REVIEW when the end was recorded with this API key, ' +
      'or by its holder on another key (separation of duties).',
  })
  @ApiCreatedResponse({
    type: ReviewResultDto,
    description: 'Recorded (or the first answer again, for a replay)',
    headers: {
      ETag: { description: 'The version of the conversation after the review, e.g. "7"', schema: { type: 'string' } },
    },
  })
  @ApiCommandProblems(
    [409, 'SELF_REVIEW (the key that recorded the end may not review it), DUPLICATE_REVIEW, VERSION_CONFLICT'],
    [422, 'UNKNOWN_END (endEventId is no end of this conversation), IDEMPOTENCY_KEY_REUSED, CONVERSATION_TOO_LARGE'],
  )
  async review(
    @Param('id', UuidPipe) id: string,
    @Body() body: ReviewEndDecisionDto,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) res: FastifyReply,
    @CurrentPrincipal() who: Principal,
  ): Promise<ReviewResultDto> {
    const data = { ...body, reviewId: randomUUID(), reviewerId: who.keyId };
    const result = await this.commands.execute(new ReviewEndDecisionCommand(id, data, commandContext(req, who, body)));
    void res.status(201).header('etag', `"${result.version}"`);
    return result;
  }
}
