import { IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { ChainReport, chainReport, readStreamHead, readStreamOfTenant } from '@app/audit';
import { PostgresEventStore, StoredEvent } from '@app/event-store';
import type { ReadableEvent } from '@app/privacy';
import { ALL_TENANTS } from '@app/access';
import type { Principal } from '../../auth/api-keys';
import { ApiError } from '../../common/api-error';
import { ReadDatabase } from '../../database/read-database';
import { assertConversationVisible, streamIdOf } from '../../conversations/conversation-stream';
import { ContentProtection } from '../../privacy/content-protection';

export interface Timeline {
  conversationId: string;
  /** As read (sealed fields opened, storedData as hashed); the chain is checked on the stored form. */
  events: ReadableEvent<StoredEvent>[];
  chain: ChainReport;
}

/** GET /v1/audit/conversations/:id/timeline: every event with its hash, and the chain verified. */
export class GetTimelineQuery extends Query<Timeline> {
  constructor(
    readonly conversationId: string,
    readonly principal: Principal,
  ) {
    super();
  }
}

@QueryHandler(GetTimelineQuery)
export class GetTimelineHandler implements IQueryHandler<GetTimelineQuery> {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly reads: ReadDatabase,
    private readonly content: ContentProtection,
  ) {}

  async execute({ conversationId, principal }: GetTimelineQuery): Promise<Timeline> {
    await assertConversationVisible(this.store, principal, conversationId);
    const streamId = streamIdOf(conversationId);
    // On the replica when there is one: a conversation it has not replayed yet is not found there.
    const pool = await this.reads.heavyPool();
    // The head first, then the events: an append in between only adds events after the head.
    const head = await readStreamHead(pool, streamId);
    // Tenant-filtered in SQL as well: the events of a stream this key's tenant started, or none.
    const events = await readStreamOfTenant(
      pool,
      streamId,
      principal.tenantId === ALL_TENANTS ? undefined : principal.tenantId,
    );
    if (events.length === 0) throw ApiError.notFound(`conversation ${conversationId}`);
    return { conversationId, events: await this.content.read(events), chain: chainReport(events, head) };
  }
}
