import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { Readable } from 'node:stream';
import { Pool } from 'pg';
import { exportEndsStream, resolveTenantScope } from '@app/audit';
import type { Principal } from '../../auth/api-keys';
import { AUDIT_POOL } from '../../database/database.providers';
import type { ExportQueryDto } from '../dto/audit-query.dto';

/** GET /v1/audit/export: the NDJSON export with its manifest line, as a pulled byte stream. */
export class ExportEndsQuery {
  constructor(
    readonly params: ExportQueryDto,
    readonly principal: Principal,
  ) {}
}

@QueryHandler(ExportEndsQuery)
export class ExportEndsHandler implements IQueryHandler<ExportEndsQuery, Readable> {
  constructor(@Inject(AUDIT_POOL) private readonly pool: Pool) {}

  async execute({ params, principal }: ExportEndsQuery): Promise<Readable> {
    const { waitFor: _waitFor, ...filters } = params;
    const scope = resolveTenantScope(principal.tenantId, filters.tenantId);
    // Out of scope: an export of nothing, its manifest naming the tenant that was asked for.
    return exportEndsStream(this.pool, { filters: { ...filters, ...scope }, nothing: scope === null });
  }
}
