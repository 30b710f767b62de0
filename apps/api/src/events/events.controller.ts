import { Controller, Get, Headers, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { isPosition, PostgresEventStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import { ALL_TENANTS } from '@app/access';
import type { Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiError } from '../common/api-error';
import { ApiRecordedReadProblems } from '../common/api-problems.decorator';
import { AccessRecorder } from '../access-log/access-recorder';
import { eventTargets } from '../access-log/access-targets';
import { noteRead, RecordsAccess } from '../access-log/records-access';
import { UuidPipe } from '../common/uuid.pipe';
import { ChangeNotifier } from '../database/change-notifier';
import { APP_CONFIG } from '../database/database.providers';
import { cutOffWhenStalled } from '../limits/stalled-response';
import { SseConnections } from './sse-connections';
import { assertConversationVisible, streamIdOf } from '../conversations/conversation-stream';
import { ContentProtection } from '../privacy/content-protection';
import { EventDto, EventPageDto, FeedQueryDto, StreamEventsQueryDto } from './dto/event.dto';

/** A tenant's key reads that tenant's events only, filtered in SQL (`readAll`'s tenantId). */
const tenantOf = (principal: Principal): string | undefined =>
  principal.tenantId === ALL_TENANTS ? undefined : principal.tenantId;

/** The event stream polls this often besides waking on NOTIFY, and sends a comment this often. */
const STREAM_POLL_MS = 1_000;
const KEEP_ALIVE_MS = 15_000;

@ApiTags('events')
@ApiBearerAuth()
@Roles('auditor')
@Controller()
export class EventsController {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly notifier: ChangeNotifier,
    private readonly connections: SseConnections,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: AccessRecorder,
    private readonly content: ContentProtection,
  ) {}

  @Get('v1/conversations/:id/events')
  @ApiOperation({ summary: "A conversation's raw events with versions, positions and hashes" })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The conversation id' })
  @ApiOkResponse({ type: EventPageDto })
  @ApiRecordedReadProblems(404)
  @RecordsAccess()
  async conversationEvents(
    @Param('id', UuidPipe) id: string,
    @Query() query: StreamEventsQueryDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
  ): Promise<EventPageDto> {
    noteRead(request, await assertConversationVisible(this.store, principal, id), [id]);
    const limit = query.limit ?? 50;
    const from = Number(query.cursor ?? 0) + 1;
    const events = await this.store.readStream(streamIdOf(id), { fromVersion: from, toVersion: from + limit - 1 });
    const last = events.at(-1);
    return {
      items: (await this.content.read(events)).map(EventDto.from),
      nextCursor: events.length === limit && last ? String(last.version) : null,
    };
  }

  @Get('v1/events')
  @ApiOperation({
    summary: 'Every event in commit order; never skips an event that commits late',
    description:
      'Keys of one tenant see that tenant’s events only. nextCursor is the position to read on from. ' +
      'Access entries (ContentAccessed, in access streams) are not in the feed: see /v1/audit/access.',
  })
  @ApiOkResponse({ type: EventPageDto })
  @ApiRecordedReadProblems()
  @RecordsAccess((page) => eventTargets((page as EventPageDto).items))
  async feed(@Query() query: FeedQueryDto, @CurrentPrincipal() principal: Principal): Promise<EventPageDto> {
    const after = query.cursor ?? query.after ?? null;
    const page = await this.store.readAll({
      after,
      limit: query.limit ?? 50,
      tenantId: tenantOf(principal),
      listedOnly: true,
    });
    return { items: (await this.content.read(page.events)).map(EventDto.from), nextCursor: page.nextPosition };
  }

  @Get('v1/events/stream')
  @ApiOperation({
    summary: 'The event feed as Server-Sent Events, resumable with Last-Event-ID',
    description:
      'Each message: `id` = position, `event` = type, `data` = the event as in /v1/events. ' +
      'At most SSE_MAX_PER_KEY open streams per key (429 RATE_LIMITED beyond); ' +
      'a stream ends at its key’s expiry or revocation and after SSE_MAX_LIFETIME_MS: resume with Last-Event-ID.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this position' })
  @ApiOkResponse({
    description: 'The stream: `retry`, then one message per event, and comments as keep-alives',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          example: 'id: 7311-42\nevent: MessageAppended\ndata: {"eventId":"…","type":"MessageAppended",…}\n\n',
        },
      },
    },
  })
  @ApiRecordedReadProblems([
    429,
    'RATE_LIMITED: the key or address is over its rate, ' +
      'or the key has SSE_MAX_PER_KEY streams open already (Retry-After)',
  ])
  async stream(
    @Query() query: FeedQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    let after = lastEventId ?? query.cursor ?? query.after ?? null;
    if (after && !isPosition(after)) throw ApiError.validation('Last-Event-ID must be a position returned by this API');
    // HEAD: the headers alone, at once. Node sends a HEAD's headers only at its end, so the loop
    // below would hold a stream slot and poll the log for a client that never sees a byte.
    if (request.method === 'HEAD')
      return void reply.header('content-type', 'text/event-stream').header('cache-control', 'no-cache').send();
    // Fail closed before the stream opens; each batch is recorded before it is sent (below).
    this.access.assertRoom();
    const connection = this.connections.open(principal);
    const closed = connection.signal;
    request.raw.on('close', () => connection.close('client'));
    reply.hijack();
    // A client that stops reading is cut off like a stalled export.
    cutOffWhenStalled(reply.raw, this.config.limits.exportIdleTimeoutMs);
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.write('retry: 2000\n\n');
    const tenantId = tenantOf(principal);
    let quietSince = 0;
    try {
      while (!closed.aborted) {
        const page = await this.store.readAll({ after, limit: 500, tenantId, listedOnly: true });
        // An entry per tenant of the batch, before it is sent; none fits: the stream ends unsent
        // and the client resumes with Last-Event-ID.
        if (page.events.length && !this.access.tryRecord(request, eventTargets(page.events))) break;
        for (const e of await this.content.read(page.events)) {
          const chunk = `id: ${e.position}\nevent: ${e.type}\ndata: ${JSON.stringify(EventDto.from(e))}\n\n`;
          // Backpressure: a slow client is not fed the whole log into memory.
          if (!reply.raw.write(chunk)) await once(reply.raw, 'drain', { signal: closed }).catch(() => undefined);
          if (closed.aborted) break;
        }
        if (page.events.length) {
          after = page.nextPosition;
          continue;
        }
        if (Date.now() - quietSince >= KEEP_ALIVE_MS) {
          reply.raw.write(': keep-alive\n\n');
          quietSince = Date.now();
        }
        // A committed event stays unreadable while an older transaction is still open (commit
        // order), so its NOTIFY can come too early: poll again soon, not only at the next NOTIFY.
        await this.notifier.next(STREAM_POLL_MS, closed);
      }
    } finally {
      // Also on an error: the client reconnects with Last-Event-ID instead of waiting forever.
      const byServer = connection.reason !== 'client';
      connection.close('client');
      reply.raw.end();
      // Closed by the server (revoked, expired, lifetime): do not wait on a client that reads no more.
      if (byServer) setTimeout(() => reply.raw.destroy(), 1_000).unref();
    }
  }
}
