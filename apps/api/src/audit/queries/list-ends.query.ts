import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { EndItem, listEnds, Page, resolveTenantScope } from '@app/audit';
import type { Principal } from '../../auth/api-keys';
import { PG_POOL } from '../../database/database.providers';
import type { EndsQueryDto } from '../dto/audit-query.dto';

/** GET /v1/audit/ends: the ends index, filtered, newest first, within the caller's tenant scope. */
export class ListEndsQuery {
  constructor(
    readonly params: EndsQueryDto,
    readonly principal: Principal,
  ) {}
}

@QueryHandler(ListEndsQuery)
export class ListEndsHandler implements IQueryHandler<ListEndsQuery, Page<EndItem>> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute({ params, principal }: ListEndsQuery): Promise<Page<EndItem>> {
    const { limit, cursor, waitFor: _waitFor, ...filters } = params;
    const scope = resolveTenantScope(principal.tenantId, filters.tenantId);
    if (!scope) return { items: [], nextCursor: null };
    return listEnds(this.pool, { ...filters, ...scope }, { limit, cursor });
  }
}
