import { Controller, Get, Headers, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { isPosition, PostgresEventStore, StoredEvent } from '@app/event-store';
import { ALL_TENANTS, Principal } from '../auth/api-keys';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators';
import { ApiError } from '../common/api-error';
import { ApiReadProblems } from '../common/api-problems.decorator';
import { UuidPipe } from '../common/uuid.pipe';
import { ChangeNotifier } from '../database/change-notifier';
import { assertConversationVisible, streamIdOf } from '../conversations/conversation-stream';
import { EventDto, EventPageDto, FeedQueryDto, StreamEventsQueryDto } from './dto/event.dto';

const visibleTo = (principal: Principal) => (e: StoredEvent) =>
  principal.tenantId === ALL_TENANTS || e.metadata.tenantId === principal.tenantId;

/** The event stream polls this often besides waking on NOTIFY, and sends a comment this often. */
const STREAM_POLL_MS = 1_000;
const KEEP_ALIVE_MS = 15_000;

/** At most this many events are read for one feed page of a tenant's key. */
const FEED_SCAN_BUDGET = 10_000;

@ApiTags('events')
@ApiBearerAuth()
@Roles('auditor')
@Controller()
export class EventsController {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly notifier: ChangeNotifier,
  ) {}

  @Get('v1/conversations/:id/events')
  @ApiOperation({ summary: "A conversation's raw events with versions, positions and hashes" })
  @ApiParam({ name: 'id', format: 'uuid', description: 'The conversation id' })
  @ApiOkResponse({ type: EventPageDto })
  @ApiReadProblems(404)
  async conversationEvents(
    @Param('id', UuidPipe) id: string,
    @Query() query: StreamEventsQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<EventPageDto> {
    await assertConversationVisible(this.store, principal, id);
    const limit = query.limit ?? 50;
    const from = Number(query.cursor ?? 0) + 1;
    const events = await this.store.readStream(streamIdOf(id), { fromVersion: from, toVersion: from + limit - 1 });
    const last = events.at(-1);
    return {
      items: events.map(EventDto.from),
      nextCursor: events.length === limit && last ? String(last.version) : null,
    };
  }

  @Get('v1/events')
  @ApiOperation({
    summary: 'Every event in commit order; never skips an event that commits late',
    description: 'Keys of one tenant see that tenant’s events only. nextCursor is the position to read on from.',
  })
  @ApiOkResponse({ type: EventPageDto })
  @ApiReadProblems()
  async feed(@Query() query: FeedQueryDto, @CurrentPrincipal() principal: Principal): Promise<EventPageDto> {
    const limit = query.limit ?? 50;
    const visible = visibleTo(principal);
    let after = query.cursor ?? query.after ?? null;
    const items: EventDto[] = [];
    const batch = principal.tenantId === ALL_TENANTS ? limit : 500;
    // A tenant's key skips other tenants' events: read on, so that a page comes back short only
    // at the head of the log (or after a bounded scan), never empty while its events remain.
    for (let scanned = 0; items.length < limit && scanned < FEED_SCAN_BUDGET; ) {
      const page = await this.store.readAll({ after, limit: batch });
      for (const e of page.events) {
        after = e.position;
        scanned++;
        if (visible(e)) items.push(EventDto.from(e));
        if (items.length === limit) break;
      }
      if (page.events.length < batch) break;
    }
    return { items, nextCursor: after };
  }

  @Get('v1/events/stream')
  @ApiOperation({
    summary: 'The event feed as Server-Sent Events, resumable with Last-Event-ID',
    description: 'Each message: `id` = position, `event` = type, `data` = the event as in /v1/events.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this position' })
  @ApiOkResponse({
    description: 'The stream: `retry`, then one message per event, and comments as keep-alives',
    content: {
      'text/event-stream': {
        schema: { type: 'string', example: 'id: 7311-42\nevent: MessageAppended\ndata: {"eventId":"…","type":"MessageAppended",…}\n\n' },
      },
    },
  })
  @ApiReadProblems([503, 'BUSY (too many streams open for this key; with Retry-After), WAIT_FOR_TIMEOUT, DATABASE_TIMEOUT or DATABASE_UNAVAILABLE'])
  async stream(
    @Query() query: FeedQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    let after = lastEventId ?? query.cursor ?? query.after ?? null;
    if (after && !isPosition(after)) throw ApiError.validation('Last-Event-ID must be a position returned by this API');
    const closed = new AbortController();
    request.raw.on('close', () => closed.abort());
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.write('retry: 2000\n\n');
    const visible = visibleTo(principal);
    let quietSince = 0;
    try {
      while (!closed.signal.aborted) {
        const page = await this.store.readAll({ after, limit: 500 });
        for (const e of page.events.filter(visible)) {
          const chunk = `id: ${e.position}\nevent: ${e.type}\ndata: ${JSON.stringify(EventDto.from(e))}\n\n`;
          // Backpressure: a slow client is not fed the whole log into memory.
          if (!reply.raw.write(chunk)) await once(reply.raw, 'drain', { signal: closed.signal }).catch(() => undefined);
          if (closed.signal.aborted) break;
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
        await this.notifier.next(STREAM_POLL_MS, closed.signal);
      }
    } finally {
      // Also on an error: the client reconnects with Last-Event-ID instead of waiting forever.
      reply.raw.end();
    }
  }
}
