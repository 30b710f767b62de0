import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { EndStatsBucket, endStats, resolveTenantScope } from '@app/audit';
import type { Principal } from '../../auth/api-keys';
import { PG_POOL } from '../../database/database.providers';
import type { EndStatsQueryDto } from '../dto/audit-query.dto';

/** GET /v1/audit/stats/ends: ends per day or week by reason or model, beside conversations started. */
export class GetEndStatsQuery {
  constructor(
    readonly params: EndStatsQueryDto,
    readonly principal: Principal,
  ) {}
}

@QueryHandler(GetEndStatsQuery)
export class GetEndStatsHandler implements IQueryHandler<GetEndStatsQuery, { buckets: EndStatsBucket[] }> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute({ params, principal }: GetEndStatsQuery): Promise<{ buckets: EndStatsBucket[] }> {
    const { waitFor: _waitFor, ...options } = params;
    const scope = resolveTenantScope(principal.tenantId, options.tenantId);
    if (!scope) return { buckets: [] };
    return endStats(this.pool, { ...options, ...scope });
  }
}
