import type { DataSource, SelectQueryBuilder } from 'typeorm';
import { BlockedEndEntity } from '@app/projections';
import { decodeTimeCursor, encodeTimeCursor, InvalidCursor, KEYSET, type ListOrder } from './cursor';
import { NO_MODEL_KEY } from './end-stats.query';
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
 * Blocked end attempts (near-misses), newest first (or oldest first), a keyset page at a time: a plain read of
 * the read model, so through its entity. Only the filters given become conditions (each a
 * bound parameter); the guard filter is the array containment its GIN index serves.
 */
export async function listBlockedEnds(
  db: DataSource,
  filters: BlockedEndFilters,
  page: { limit?: number; cursor?: string; order?: ListOrder } = {},
): Promise<Page<BlockedEndItem>> {
  const limit = pageLimit(page.limit);
  const order = page.order ?? 'desc';
  const after = page.cursor === undefined ? null : decodeTimeCursor(page.cursor, order);
  if (page.cursor !== undefined && !after) throw new InvalidCursor();
  const { cmp, dir } = KEYSET[order];
  const q = db
    .getRepository(BlockedEndEntity)
    .createQueryBuilder('b')
    .addSelect(exactTime('b.attemptedAt'), 'cursor_time')
    .orderBy('b.attemptedAt', dir)
    .addOrderBy('b.eventId', dir)
    .limit(limit + 1);
  whereBlockedEnds(q, filters);
  if (after) {
    q.andWhere(`(b.attemptedAt, b.eventId) ${cmp} (CAST(:afterTime AS timestamptz), CAST(:afterId AS uuid))`, {
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
    nextCursor: more
      ? encodeTimeCursor({ time: raw[limit - 1].cursor_time, id: shown[limit - 1].eventId }, order)
      : null,
  };
}

/**
 * The filters as conditions on a query over rm_blocked_ends aliased `b`: only the filters given
 * become conditions (each a bound parameter); the guard filter is the array containment its GIN
 * index serves. The list and the counts filter by this one function.
 */
function whereBlockedEnds<T extends object>(
  q: SelectQueryBuilder<T>,
  filters: BlockedEndFilters,
): SelectQueryBuilder<T> {
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
  return q;
}

export const BLOCKED_STAT_GROUPS = ['guard', 'modelId', 'reasonCode'] as const;
export type BlockedStatGroup = (typeof BLOCKED_STAT_GROUPS)[number];

export interface BlockedEndStats {
  groupBy: BlockedStatGroup;
  /** Blocked attempts matching the filters (an attempt that failed three guards counts once here). */
  total: number;
  /** By count, descending, then key; by guard an attempt counts once for each guard it failed. */
  items: { key: string; count: number }[];
}

/** The key(s) of an attempt, per grouping, over the filtered rows `s`. */
const BLOCKED_KEYS: Record<BlockedStatGroup, string> = {
  guard: 's CROSS JOIN LATERAL unnest(s.failed_guards) AS k(key)',
  modelId: `s CROSS JOIN LATERAL (VALUES (coalesce(s.model_id, '${NO_MODEL_KEY}'))) AS k(key)`,
  reasonCode: 's CROSS JOIN LATERAL (VALUES (s.proposed_reason_code)) AS k(key)',
};

/** Blocked end attempts counted by guard, model or proposed reason, under the filters of the list. */
export async function blockedEndStats(
  db: DataSource,
  filters: BlockedEndFilters,
  groupBy: BlockedStatGroup,
): Promise<BlockedEndStats> {
  const matching = whereBlockedEnds(
    db
      .getRepository(BlockedEndEntity)
      .createQueryBuilder('b')
      .select('b.failedGuards', 'failed_guards')
      .addSelect('b.modelId', 'model_id')
      .addSelect('b.proposedReasonCode', 'proposed_reason_code'),
    filters,
  );
  const [sql, parameters] = matching.getQueryAndParameters();
  const rows: { total: string; items: { key: string; count: number }[] }[] = await db.query(
    `WITH s AS MATERIALIZED (${sql})
     SELECT (SELECT count(*) FROM s)::text AS total,
            coalesce((SELECT json_agg(json_build_object('key', key, 'count', n))
                        FROM (SELECT k.key, count(*) AS n FROM ${BLOCKED_KEYS[groupBy]} GROUP BY 1) AS g),
                     '[]') AS items`,
    parameters,
  );
  const items = rows[0].items.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { groupBy, total: Number(rows[0].total), items };
}
