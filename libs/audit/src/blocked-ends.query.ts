import { decodeTimeCursor, encodeTimeCursor, InvalidCursor } from './cursor';
import { exactTime, isoOrNull, Page, pageLimit, Queryable } from './queryable';

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

interface BlockedRow {
  event_id: string;
  conversation_id: string;
  tenant_id: string;
  initiator: string;
  proposed_reason_code: string;
  failed_guards: string[];
  at_message_id: string;
  model_id: string | null;
  policy_version: number;
  attempted_at: Date;
  cursor_time: string;
}

/** Blocked end attempts (near-misses), newest first, a keyset page at a time. */
export async function listBlockedEnds(
  q: Queryable,
  filters: BlockedEndFilters,
  page: { limit?: number; cursor?: string } = {},
): Promise<Page<BlockedEndItem>> {
  const limit = pageLimit(page.limit);
  const after = page.cursor === undefined ? null : decodeTimeCursor(page.cursor);
  if (page.cursor !== undefined && !after) throw new InvalidCursor();
  const { rows } = await q.query<BlockedRow>(
    `SELECT event_id, conversation_id, tenant_id, initiator, proposed_reason_code, failed_guards, at_message_id, model_id,
            policy_version, attempted_at, ${exactTime('attempted_at')} AS cursor_time
       FROM rm_blocked_ends
      WHERE ($1::text IS NULL OR failed_guards @> ARRAY[$1::text])
        AND ($2::text IS NULL OR model_id = $2)
        AND ($3::text IS NULL OR proposed_reason_code = $3)
        AND ($4::text IS NULL OR initiator = $4)
        AND ($5::text IS NULL OR tenant_id = $5)
        AND ($6::timestamptz IS NULL OR attempted_at >= $6)
        AND ($7::timestamptz IS NULL OR attempted_at < $7)
        AND ($8::timestamptz IS NULL OR (attempted_at, event_id) < ($8::timestamptz, $9::uuid))
      ORDER BY attempted_at DESC, event_id DESC
      LIMIT $10`,
    [
      filters.guard ?? null,
      filters.modelId ?? null,
      filters.reasonCode ?? null,
      filters.initiator ?? null,
      filters.tenantId ?? null,
      isoOrNull(filters.from),
      isoOrNull(filters.to),
      after?.time ?? null,
      after?.id ?? null,
      limit + 1,
    ],
  );
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    items: shown.map((r) => ({
      eventId: r.event_id,
      conversationId: r.conversation_id,
      tenantId: r.tenant_id,
      initiator: r.initiator,
      proposedReasonCode: r.proposed_reason_code,
      failedGuards: r.failed_guards,
      atMessageId: r.at_message_id,
      modelId: r.model_id,
      policyVersion: r.policy_version,
      attemptedAt: r.attempted_at.toISOString(),
    })),
    nextCursor: more && last ? encodeTimeCursor({ time: last.cursor_time, id: last.event_id }) : null,
  };
}
