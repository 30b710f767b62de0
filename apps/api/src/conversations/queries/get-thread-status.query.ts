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
import { ReadDatabase } from '../../database/read-database';
import { GetConversationQuery } from './get-conversation.query';

const caughtUp = (row: Row) => row.version !== null && row.version === row.streamVersion;

/** The current thread status. */
export class GetThreadStatusQuery extends Query<ThreadStatus> {
  constructor(
    readonly conversationId: string,
    readonly principal: Principal,
    /** The replica's projections have processed the position the caller waits for: try there first. */
    readonly onReplica = false,
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

type Lookup = (values: { streamId: string; conversationId: string }) => Promise<Row[]>;

/** One indexed lookup: the stream's version and the row, compared by execute. */
const lookupOn = (db: DataSource): Lookup =>
  preparedQuery(db, 'thread_status', ['streamId', 'conversationId'], (p) =>
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

/**
 * From the thread-status read model when it has caught up with the stream (one indexed
 * lookup); otherwise by folding the stream, so the answer is never stale. On the replica when the
 * request's ?waitFor= allows it (onReplica) and its row has caught up with its stream there;
 * anything else (no row there, a row behind, a replica that does not answer) on the primary.
 */
@QueryHandler(GetThreadStatusQuery)
export class GetThreadStatusHandler implements IQueryHandler<GetThreadStatusQuery> {
  private readonly lookup: Lookup;
  private readonly replicaLookup: Lookup | null;

  constructor(
    @InjectDataSource() db: DataSource,
    private readonly queries: QueryBus,
    private readonly reads: ReadDatabase,
  ) {
    this.lookup = lookupOn(db);
    this.replicaLookup = reads.replicaDataSource ? lookupOn(reads.replicaDataSource) : null;
  }

  async execute({ conversationId, principal, onReplica }: GetThreadStatusQuery): Promise<ThreadStatus> {
    const values = { streamId: streamIdOf(conversationId), conversationId };
    if (onReplica && this.replicaLookup) {
      const [replicaRow] = await this.reads
        .replicaPool()
        .then(() => this.replicaLookup!(values))
        .catch(() => []);
      if (replicaRow && caughtUp(replicaRow)) return this.answer(conversationId, principal, replicaRow);
    }
    const [row] = await this.lookup(values);
    if (!row) throw ApiError.notFound(`conversation ${conversationId}`);
    if (!caughtUp(row)) {
      return toThreadStatus(await this.queries.execute(new GetConversationQuery(conversationId, principal)));
    }
    return this.answer(conversationId, principal, row);
  }

  private answer(conversationId: string, principal: Principal, row: Row): ThreadStatus {
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
