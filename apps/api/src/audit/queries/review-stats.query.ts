import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { resolveTenantScope, ReviewStats, reviewStats } from '@app/audit';
import type { Principal } from '../../auth/api-keys';
import { PG_POOL } from '../../database/database.providers';
import type { ReviewStatsQueryDto } from '../dto/audit-query.dto';

/** GET /v1/audit/reviews/stats: review outcomes and overturn rates by reason, model and reviewer. */
export class GetReviewStatsQuery {
  constructor(
    readonly params: ReviewStatsQueryDto,
    readonly principal: Principal,
  ) {}
}

@QueryHandler(GetReviewStatsQuery)
export class GetReviewStatsHandler implements IQueryHandler<GetReviewStatsQuery, ReviewStats> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute({ params, principal }: GetReviewStatsQuery): Promise<ReviewStats> {
    const { waitFor: _waitFor, ...options } = params;
    const scope = resolveTenantScope(principal.tenantId, options.tenantId);
    if (!scope) return { byReasonCode: [], byModelId: [], byReviewer: [] };
    return reviewStats(this.pool, { ...options, ...scope });
  }
}
