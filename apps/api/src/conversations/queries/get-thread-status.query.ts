import { Inject } from '@nestjs/common';
import { IQueryHandler, Query, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { ThreadStatus, toThreadStatus } from '@app/conversation';
import { streamIdOf } from '@app/conversation';
import type { Principal } from '../../auth/api-keys';
import { assertTenant } from '../../auth/api-key.guard';
import { ApiError } from '../../common/api-error';
import { PG_POOL } from '../../database/database.providers';
import { GetConversationQuery } from './get-conversation.query';

/** The current thread status. */
export class GetThreadStatusQuery extends Query<ThreadStatus> {
  constructor(
    readonly conversationId: string,
    readonly principal: Principal,
  ) {
    super();
  }
}

interface Row {
  stream_version: string;
  version: string | null;
  tenant_id: string | null;
  status: ThreadStatus['status'];
  active_leaf_message_id: string | null;
  message_count: number;
  branch_count: number;
  redirection_count: number;
  open_risk_flags: number;
  ends: ThreadStatus['ends'];
  last_event_at: Date | null;
}

/**
 * From the thread-status read model when it has caught up with the stream (one indexed
 * lookup); otherwise by folding the stream, so the answer is never stale.
 */
@QueryHandler(GetThreadStatusQuery)
export class GetThreadStatusHandler implements IQueryHandler<GetThreadStatusQuery> {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly queries: QueryBus,
  ) {}

  async execute({ conversationId, principal }: GetThreadStatusQuery): Promise<ThreadStatus> {
    const { rows } = await this.pool.query<Row>({
      name: 'thread_status',
      text: `SELECT s.version::text AS stream_version, c.version::text AS version, c.tenant_id, c.status,
                    c.active_leaf_message_id, c.message_count, c.branch_count, c.redirection_count, c.open_risk_flags,
                    c.ends, c.last_event_at
               FROM es_streams s LEFT JOIN rm_conversations c ON c.conversation_id = $2::uuid
              WHERE s.stream_id = $1`,
      values: [streamIdOf(conversationId), conversationId],
    });
    const row = rows[0];
    if (!row) throw ApiError.notFound(`conversation ${conversationId}`);
    if (row.version === null || row.version !== row.stream_version) {
      return toThreadStatus(await this.queries.execute(new GetConversationQuery(conversationId, principal)));
    }
    assertTenant(principal, row.tenant_id!, `conversation ${conversationId}`);
    return {
      conversationId,
      tenantId: row.tenant_id!,
      status: row.status,
      activeLeafMessageId: row.active_leaf_message_id,
      messageCount: row.message_count,
      branchCount: row.branch_count,
      redirectionCount: row.redirection_count,
      openRiskFlags: row.open_risk_flags,
      ends: row.ends,
      lastEventAt: row.last_event_at ? row.last_event_at.toISOString() : null,
      version: Number(row.version),
    };
  }
}
