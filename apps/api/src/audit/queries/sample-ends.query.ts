import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { EndItem, resolveTenantScope, sampleEnds } from '@app/audit';
import type { Principal } from '../../auth/api-keys';
import { AUDIT_POOL } from '../../database/database.providers';
import type { SampleQueryDto } from '../dto/audit-query.dto';

export const DEFAULT_SAMPLE_SIZE = 20;

/** GET /v1/audit/sample: a seeded, reproducible random sample of ends. */
export class SampleEndsQuery {
  constructor(
    readonly params: SampleQueryDto,
    readonly principal: Principal,
  ) {}
}

export interface Sample {
  seed: string;
  size: number;
  items: EndItem[];
  nextCursor: null;
}

@QueryHandler(SampleEndsQuery)
export class SampleEndsHandler implements IQueryHandler<SampleEndsQuery, Sample> {
  constructor(@Inject(AUDIT_POOL) private readonly pool: Pool) {}

  async execute({ params, principal }: SampleEndsQuery): Promise<Sample> {
    const { size = DEFAULT_SAMPLE_SIZE, seed = randomBytes(8).toString('hex'), waitFor: _waitFor, ...filters } = params;
    const scope = resolveTenantScope(principal.tenantId, filters.tenantId);
    const items = scope ? await sampleEnds(this.pool, { ...filters, ...scope }, { size, seed }) : [];
    return { seed, size, items, nextCursor: null };
  }
}
