import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BlockedEndItem, listBlockedEnds, Page, resolveTenantScope } from '@app/audit';
import type { Principal } from '../../auth/api-keys';
import type { BlockedEndsQueryDto } from '../dto/audit-query.dto';

/** GET /v1/audit/blocked-ends: recorded end attempts that the guards refused. */
export class ListBlockedEndsQuery {
  constructor(
    readonly params: BlockedEndsQueryDto,
    readonly principal: Principal,
  ) {}
}

@QueryHandler(ListBlockedEndsQuery)
export class ListBlockedEndsHandler implements IQueryHandler<ListBlockedEndsQuery, Page<BlockedEndItem>> {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async execute({ params, principal }: ListBlockedEndsQuery): Promise<Page<BlockedEndItem>> {
    const { limit, cursor, waitFor: _waitFor, ...filters } = params;
    const scope = resolveTenantScope(principal.tenantId, filters.tenantId);
    if (!scope) return { items: [], nextCursor: null };
    return listBlockedEnds(this.db, { ...filters, ...scope }, { limit, cursor });
  }
}
