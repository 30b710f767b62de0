import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { PostgresEventStore } from '@app/event-store';
import { ConversationState, foldEvents } from '@app/conversation';
import type { Principal } from '../../auth/api-keys';
import { assertTenant } from '../../auth/api-key.guard';
import { ApiError } from '../../common/api-error';
import { toRecorded } from '@app/application';
import { streamIdOf } from '../conversation-stream';

/** A conversation's state now, or as of a stream version or a recorded time. */
export class GetConversationQuery extends Query<ConversationState> {
  constructor(
    readonly conversationId: string,
    readonly principal: Principal,
    readonly asOf: { version?: number; time?: string } = {},
  ) {
    super();
  }
}

@QueryHandler(GetConversationQuery)
export class GetConversationHandler implements IQueryHandler<GetConversationQuery> {
  constructor(private readonly store: PostgresEventStore) {}

  async execute({ conversationId, principal, asOf }: GetConversationQuery): Promise<ConversationState> {
    const what = `conversation ${conversationId}`;
    let events = await this.store.readStream(streamIdOf(conversationId), { toVersion: asOf.version });
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
    return foldEvents(events.map(toRecorded));
  }
}
