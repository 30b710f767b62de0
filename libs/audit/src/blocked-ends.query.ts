import type { DataSource } from 'typeorm';
import { BlockedEndEntity } from '@app/projections';
import { decodeTimeCursor, encodeTimeCursor, InvalidCursor } from './cursor';
import { exactTime, isoOrNull, Page, pageLimit } from './queryable';

/** Filters of /v1/audit/blocked-ends; `guard` matches an attempt that failed it among others. */
export interface BlockedEndFilters {
  guard?: string;
  modelId?: string;
  reasonCode?: string;
  initiator?: string;
  tenantId?: string;
  from?: string;
  to?: string;
}

export interface BlockedEndItem {
  eventId: string;
  conversationId: string;
  tenantId: string;
  initiator: string;
  proposedReasonCode: string;
  failedGuards: string[];
  atMessageId: string;
  modelId: string | null;
  policyVersion: number;
  attemptedAt: string;
}

/**
 * Blocked end attempts (near-misses), newest first, a keyset page at a time: a plain read of
 * the read model, so through its entity. Only the filters given become conditions (each a
 * bound parameter); the guard filter is the array containment its GIN index serves.
 */
export async function listBlockedEnds(
  db: DataSource,
  filters: BlockedEndFilters,
  page: { limit?: number; cursor?: string } = {},
): Promise<Page<BlockedEndItem>> {
  const limit = pageLimit(page.limit);
  const after = page.cursor === undefined ? null : decodeTimeCursor(page.cursor);
  if (page.cursor !== undefined && !after) throw new InvalidCursor();
  const q = db
    .getRepository(BlockedEndEntity)
    .createQueryBuilder('b')
    .addSelect(exactTime('b.attemptedAt'), 'cursor_time')
    .orderBy('b.attemptedAt', 'DESC')
    .addOrderBy('b.eventId', 'DESC')
    .limit(limit + 1);
  if (filters.guard !== undefined)
    q.andWhere('b.failedGuards @> ARRAY[CAST(:guard AS text)]', { guard: filters.guard });
  if (filters.modelId !== undefined) q.andWhere('b.modelId = :modelId', { modelId: filters.modelId });
  if (filters.reasonCode !== undefined)
    q.andWhere('b.proposedReasonCode = :reasonCode', { reasonCode: filters.reasonCode });
  if (filters.initiator !== undefined) q.andWhere('b.initiator = :initiator', { initiator: filters.initiator });
  if (filters.tenantId !== undefined) q.andWhere('b.tenantId = :tenantId', { tenantId: filters.tenantId });
  if (filters.from !== undefined)
    q.andWhere('b.attemptedAt >= CAST(:from AS timestamptz)', { from: isoOrNull(filters.from) });
  if (filters.to !== undefined) q.andWhere('b.attemptedAt < CAST(:to AS timestamptz)', { to: isoOrNull(filters.to) });
  if (after) {
    q.andWhere('(b.attemptedAt, b.eventId) < (CAST(:afterTime AS timestamptz), CAST(:afterId AS uuid))', {
      afterTime: after.time,
      afterId: after.id,
    });
  }
  const { entities, raw } = await q.getRawAndEntities<{ cursor_time: string }>();
  const more = entities.length > limit;
  const shown = entities.slice(0, limit);
  return {
    items: shown.map((r) => ({
      eventId: r.eventId,
      conversationId: r.conversationId,
      tenantId: r.tenantId,
      initiator: r.initiator,
      proposedReasonCode: r.proposedReasonCode,
      failedGuards: r.failedGuards,
      atMessageId: r.atMessageId,
      modelId: r.modelId,
      policyVersion: r.policyVersion,
      attemptedAt: r.attemptedAt.toISOString(),
    })),
    nextCursor: more ? encodeTimeCursor({ time: raw[limit - 1].cursor_time, id: shown[limit - 1].eventId }) : null,
  };
}
