import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { ChainReport, chainReport, readConversationEvents, readStreamHead } from '@app/audit';
import { PostgresEventStore, StoredEvent } from '@app/event-store';
import type { Principal } from '../../auth/api-keys';
import { AUDIT_POOL } from '../../database/database.providers';
import { assertConversationVisible, streamIdOf } from '../../conversations/conversation-stream';

/** GET /v1/audit/conversations/:id/timeline: every event with its hash, and the chain verified. */
export class GetTimelineQuery {
  constructor(
    readonly conversationId: string,
    readonly principal: Principal,
  ) {}
}

export interface Timeline {
  conversationId: string;
  events: StoredEvent[];
  chain: ChainReport;
}

@QueryHandler(GetTimelineQuery)
export class GetTimelineHandler implements IQueryHandler<GetTimelineQuery, Timeline> {
  constructor(
    private readonly store: PostgresEventStore,
    @Inject(AUDIT_POOL) private readonly pool: Pool,
  ) {}

  async execute({ conversationId, principal }: GetTimelineQuery): Promise<Timeline> {
    await assertConversationVisible(this.store, principal, conversationId);
    const streamId = streamIdOf(conversationId);
    // The head first, then the events: an append in between only adds events after the head.
    const head = await readStreamHead(this.pool, streamId);
    const events = await readConversationEvents(this.pool, conversationId);
    return { conversationId, events, chain: chainReport(events, head) };
  }
}
