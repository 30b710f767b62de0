import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { checkCompliance, ComplianceItem, Page, resolveTenantScope } from '@app/audit';
import type { Principal } from '../../auth/api-keys';
import { AUDIT_POOL } from '../../database/database.providers';
import type { ComplianceQueryDto } from '../dto/audit-query.dto';

/**
 * GET /v1/audit/compliance: ends that break a guard of their own policy version, from the log,
 * each judged by its version as stored at first use (never the code's built-in copy).
 */
export class CheckComplianceQuery {
  constructor(
    readonly params: ComplianceQueryDto,
    readonly principal: Principal,
  ) {}
}

type ComplianceResult = Page<ComplianceItem> & { checkedEnds: number };

@QueryHandler(CheckComplianceQuery)
export class CheckComplianceHandler implements IQueryHandler<CheckComplianceQuery, ComplianceResult> {
  constructor(@Inject(AUDIT_POOL) private readonly pool: Pool) {}

  async execute({ params, principal }: CheckComplianceQuery): Promise<ComplianceResult> {
    const scope = resolveTenantScope(principal.tenantId, params.tenantId);
    if (!scope) return { items: [], nextCursor: null, checkedEnds: 0 };
    return checkCompliance(this.pool, { ...scope, limit: params.limit, cursor: params.cursor });
  }
}
