import { IQueryHandler, Query, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ThreadStatus, toThreadStatus } from '@app/conversation';
import { streamIdOf } from '@app/conversation';
import { preparedQuery } from '@app/platform';
import { ThreadStatusEntity } from '@app/projections';
import type { Principal } from '../../auth/api-keys';
import { assertTenant } from '../../auth/api-key.guard';
import { ApiError } from '../../common/api-error';
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

/** The stream's head beside the status row (null columns: no row yet). */
type Shown = 'status' | 'activeLeafMessageId' | 'messageCount' | 'branchCount' | 'redirectionCount' | 'openRiskFlags';
interface Row extends Pick<ThreadStatusEntity, Shown | 'ends' | 'lastEventAt'> {
  streamVersion: string;
  version: string | null;
  tenantId: string | null;
}

/**
 * From the thread-status read model when it has caught up with the stream (one indexed
 * lookup); otherwise by folding the stream, so the answer is never stale.
 */
@QueryHandler(GetThreadStatusQuery)
export class GetThreadStatusHandler implements IQueryHandler<GetThreadStatusQuery> {
  /** One indexed lookup: the stream's version and the row, compared by execute. */
  private readonly lookup: (values: { streamId: string; conversationId: string }) => Promise<Row[]>;

  constructor(
    @InjectDataSource() db: DataSource,
    private readonly queries: QueryBus,
  ) {
    this.lookup = preparedQuery(db, 'thread_status', ['streamId', 'conversationId'], (p) =>
      db
        .createQueryBuilder()
        .from('es_streams', 's')
        .leftJoin(ThreadStatusEntity, 'c', 'c.conversationId = CAST(:conversationId AS uuid)')
        .select('s.version::text', 'streamVersion')
        .addSelect('c.version::text', 'version')
        .addSelect('c.tenantId', 'tenantId')
        .addSelect('c.status', 'status')
        .addSelect('c.activeLeafMessageId', 'activeLeafMessageId')
        .addSelect('c.messageCount', 'messageCount')
        .addSelect('c.branchCount', 'branchCount')
        .addSelect('c.redirectionCount', 'redirectionCount')
        .addSelect('c.openRiskFlags', 'openRiskFlags')
        .addSelect('c.ends', 'ends')
        .addSelect('c.lastEventAt', 'lastEventAt')
        .where('s.stream_id = :streamId', p),
    );
  }

  async execute({ conversationId, principal }: GetThreadStatusQuery): Promise<ThreadStatus> {
    const [row] = await this.lookup({ streamId: streamIdOf(conversationId), conversationId });
    if (!row) throw ApiError.notFound(`conversation ${conversationId}`);
    if (row.version === null || row.version !== row.streamVersion) {
      return toThreadStatus(await this.queries.execute(new GetConversationQuery(conversationId, principal)));
    }
    assertTenant(principal, row.tenantId!, `conversation ${conversationId}`);
    return {
      conversationId,
      tenantId: row.tenantId!,
      status: row.status,
      activeLeafMessageId: row.activeLeafMessageId,
      messageCount: row.messageCount,
      branchCount: row.branchCount,
      redirectionCount: row.redirectionCount,
      openRiskFlags: row.openRiskFlags,
      ends: row.ends,
      lastEventAt: row.lastEventAt ? row.lastEventAt.toISOString() : null,
      version: Number(row.version),
    };
  }
}
