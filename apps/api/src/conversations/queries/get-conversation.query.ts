import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { PostgresEventStore, StoredEvent } from '@app/event-store';
import { ConversationState, foldEvents } from '@app/conversation';
import type { Principal } from '../../auth/api-keys';
import { assertTenant } from '../../auth/api-key.guard';
import { ApiError } from '../../common/api-error';
import { toRecorded } from '@app/application';
import { ContentProtection } from '../../privacy/content-protection';
import { streamIdOf } from '../conversation-stream';

type AsOf = { version?: number; time?: string };

/** A conversation's state now, or as of a stream version or a recorded time (its sealed fields as stored). */
export class GetConversationQuery extends Query<ConversationState> {
  constructor(
    readonly conversationId: string,
    readonly principal: Principal,
    readonly asOf: AsOf = {},
  ) {
    super();
  }
}

/** How a message's content reads when it is null. */
export interface ContentMark {
  contentErased?: true;
  contentUnreadable?: true;
}

/** A conversation folded from its events as read: message content opened (null where erased or unreadable). */
export interface ReadableConversation {
  state: ConversationState;
  /** Messages whose content reads null, and why. */
  marks: Map<string, ContentMark>;
}

/** The state as GetConversationQuery answers it, folded from the events as read (GET …/messages). */
export class GetReadableConversationQuery extends Query<ReadableConversation> {
  constructor(
    readonly conversationId: string,
    readonly principal: Principal,
    readonly asOf: AsOf = {},
  ) {
    super();
  }
}

/** The stream's events up to the version or time asked; 404 for another tenant's or an unknown conversation. */
async function eventsAsOf(
  store: PostgresEventStore,
  conversationId: string,
  principal: Principal,
  asOf: AsOf,
): Promise<StoredEvent[]> {
  const what = `conversation ${conversationId}`;
  let events = await store.readStream(streamIdOf(conversationId), { toVersion: asOf.version });
  const current = foldEvents(events.slice(0, 1).map(toRecorded));
  if (!current.exists) throw ApiError.notFound(what);
  assertTenant(principal, current.tenantId, what);
  if (asOf.time) {
    const until = Date.parse(asOf.time);
    // A prefix of the stream: versions are contiguous even where recorded times are not.
    const cut = events.findIndex((e) => Date.parse(e.recordedAt) > until);
    events = cut === -1 ? events : events.slice(0, cut);
    if (events.length === 0) throw ApiError.notFound(`${what} as of ${asOf.time}`);
  }
  return events;
}

@QueryHandler(GetConversationQuery)
export class GetConversationHandler implements IQueryHandler<GetConversationQuery> {
  constructor(private readonly store: PostgresEventStore) {}

  async execute({ conversationId, principal, asOf }: GetConversationQuery): Promise<ConversationState> {
    return foldEvents((await eventsAsOf(this.store, conversationId, principal, asOf)).map(toRecorded));
  }
}

@QueryHandler(GetReadableConversationQuery)
export class GetReadableConversationHandler implements IQueryHandler<GetReadableConversationQuery> {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly content: ContentProtection,
  ) {}

  async execute({ conversationId, principal, asOf }: GetReadableConversationQuery): Promise<ReadableConversation> {
    const events = await this.content.read(await eventsAsOf(this.store, conversationId, principal, asOf));
    const marks = new Map<string, ContentMark>();
    for (const e of events) {
      if (e.type !== 'MessageAppended' || !(e.contentErased || e.contentUnreadable)) continue;
      marks.set(String(e.data.messageId), {
        ...(e.contentErased && { contentErased: true as const }),
        ...(e.contentUnreadable && { contentUnreadable: true as const }),
      });
    }
    return { state: foldEvents(events.map(toRecorded)), marks };
  }
}
