import { CONVERSATION_STREAM_PREFIX } from '@app/conversation';
import { startingTenantOf } from './tenant-streams';
import { decodeTimeCursor, encodeTimeCursor, InvalidCursor, KEYSET, type ListOrder } from './cursor';
import { exactTime, isoOrNull, Page, pageLimit, Queryable } from './queryable';

export const REVIEW_OUTCOME_FILTERS = ['upheld', 'overturned', 'reclassified', 'none'] as const;
/** `none`: ends not reviewed yet. */
export type ReviewOutcomeFilter = (typeof REVIEW_OUTCOME_FILTERS)[number];

/** Filters of /v1/audit/ends (and the export and the sample). Times: from inclusive, to exclusive. */
export interface EndFilters {
  reasonCode?: string;
  initiator?: string;
  modelId?: string;
  tenantId?: string;
  policyVersion?: number;
  reviewOutcome?: ReviewOutcomeFilter;
  from?: string;
  to?: string;
}

export interface EndItem {
  endEventId: string;
  conversationId: string;
  tenantId: string;
  reasonCode: string;
  initiator: string;
  modelId: string | null;
  policyVersion: number;
  endedAt: string;
  endedAtMessageId: string;
  redirectionCount: number;
  reviewOutcome: string | null;
  /** The end event's stream version. */
  version: number;
  /** The end event's commit-order position. */
  position: string;
}

interface EndRow {
  end_event_id: string;
  conversation_id: string;
  tenant_id: string;
  reason_code: string;
  initiator: string;
  model_id: string | null;
  policy_version: number;
  ended_at: Date;
  ended_at_message_id: string;
  redirection_count: number;
  review_outcome: string | null;
  version: string;
  position: string;
  cursor_time: string;
}

/** SQL: the stream id of the end's conversation, in the collation of es_events.stream_id ("C"). */
const END_STREAM_ID = `('${CONVERSATION_STREAM_PREFIX}' || rm_ends.conversation_id::text) COLLATE "C"`;

/**
 * The filters as one fixed SQL fragment over $1..$8 (see endFilterValues). Every filter is a
 * bound parameter; an absent one is NULL and PostgreSQL folds its branch away when it plans
 * the statement with the values, so each query stays on the (filter, ended_at, id) indexes.
 * For a tenant's caller, a row whose conversation's stream another tenant started (read models
 * built before migration 1764400600000 could fold `conversation-ABC…` into `abc…`'s row) yields
 * nothing; the check reads the log, last, and costs a page about 1 ms at a million events, so
 * callers of every tenant (who may see every row anyway) skip it. A rebuild drops such rows.
 */
export const END_FILTER_SQL = `($1::text IS NULL OR reason_code = $1)
  AND ($2::text IS NULL OR initiator = $2)
  AND ($3::text IS NULL OR model_id = $3)
  AND ($4::text IS NULL OR tenant_id = $4)
  AND ($5::int IS NULL OR policy_version = $5)
  AND ($6::text IS NULL OR ($6 = 'none' AND review_outcome IS NULL) OR review_outcome = $6)
  AND ($7::timestamptz IS NULL OR ended_at >= $7)
  AND ($8::timestamptz IS NULL OR ended_at < $8)
  AND ($4::text IS NULL
       OR coalesce(${startingTenantOf(END_STREAM_ID)}, rm_ends.tenant_id) = rm_ends.tenant_id)`;

export const endFilterValues = (f: EndFilters): unknown[] => [
  f.reasonCode ?? null,
  f.initiator ?? null,
  f.modelId ?? null,
  f.tenantId ?? null,
  f.policyVersion ?? null,
  f.reviewOutcome ?? null,
  isoOrNull(f.from),
  isoOrNull(f.to),
];

export const END_COLUMNS = `end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, policy_version,
  ended_at, ended_at_message_id, redirection_count, review_outcome, version::text AS version, position,
  ${exactTime('ended_at')} AS cursor_time`;

export function toEndItem(r: EndRow): EndItem {
  return {
    endEventId: r.end_event_id,
    conversationId: r.conversation_id,
    tenantId: r.tenant_id,
    reasonCode: r.reason_code,
    initiator: r.initiator,
    modelId: r.model_id,
    policyVersion: r.policy_version,
    endedAt: r.ended_at.toISOString(),
    endedAtMessageId: r.ended_at_message_id,
    redirectionCount: r.redirection_count,
    reviewOutcome: r.review_outcome,
    version: Number(r.version),
    position: r.position,
  };
}

/**
 * Ends, newest first (ended_at, then end event id, both descending) or with `order: 'asc'`
 * oldest first (both ascending), a keyset page at a time; the cursor carries the order.
 */
export async function listEnds(
  q: Queryable,
  filters: EndFilters,
  page: { limit?: number; cursor?: string; order?: ListOrder } = {},
): Promise<Page<EndItem>> {
  const limit = pageLimit(page.limit);
  const order = page.order ?? 'desc';
  const after = page.cursor === undefined ? null : decodeTimeCursor(page.cursor, order);
  if (page.cursor !== undefined && !after) throw new InvalidCursor();
  // Both words come from this constant table, never from the caller.
  const { cmp, dir } = KEYSET[order];
  const { rows } = await q.query<EndRow>(
    `SELECT ${END_COLUMNS} FROM rm_ends
      WHERE ${END_FILTER_SQL}
        AND ($9::timestamptz IS NULL OR (ended_at, end_event_id) ${cmp} ($9::timestamptz, $10::uuid))
      ORDER BY ended_at ${dir}, end_event_id ${dir}
      LIMIT $11`,
    [...endFilterValues(filters), after?.time ?? null, after?.id ?? null, limit + 1],
  );
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    items: shown.map(toEndItem),
    nextCursor: more && last ? encodeTimeCursor({ time: last.cursor_time, id: last.end_event_id }, order) : null,
  };
}

export async function countEnds(q: Queryable, filters: EndFilters): Promise<number> {
  const { rows } = await q.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM rm_ends WHERE ${END_FILTER_SQL}`,
    endFilterValues(filters),
  );
  return Number(rows[0].n);
}
