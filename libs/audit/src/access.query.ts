import { decodeTimeCursor, encodeTimeCursor, InvalidCursor } from './cursor';
import { exactTime, isoOrNull, Page, pageLimit, Queryable } from './queryable';

/** Filters of the access log; tenantId is the caller's scope (absent: every tenant). */
export interface AccessFilters {
  tenantId?: string;
  keyId?: string;
  conversationId?: string;
  from?: string;
  to?: string;
}

/** One access entry: who read what, when, under which request. */
export interface AccessItem {
  at: string;
  keyId: string;
  role: string;
  tenantId: string;
  route: string;
  conversationIds: string[];
  filter: Record<string, string>;
  requestId: string;
  eventId: string;
  position: string;
}

interface AccessRow {
  event_id: string;
  accessed_at: Date;
  key_id: string;
  role: string;
  tenant_id: string;
  route: string;
  conversation_ids: string[];
  filter: Record<string, string>;
  request_id: string;
  position: string;
  cursor_time: string;
}

/**
 * Access entries, newest first (time of the read, then event id, both descending), a keyset
 * page at a time. Each filter is a bound parameter, NULL when absent; the conversation filter
 * uses the GIN index on conversation_ids, the others the (column, time, id) indexes.
 */
export async function listAccess(
  q: Queryable,
  filters: AccessFilters,
  page: { limit?: number; cursor?: string } = {},
): Promise<Page<AccessItem>> {
  const limit = pageLimit(page.limit);
  const after = page.cursor === undefined ? null : decodeTimeCursor(page.cursor);
  if (page.cursor !== undefined && !after) throw new InvalidCursor();
  const { rows } = await q.query<AccessRow>(
    `SELECT event_id, accessed_at, key_id, role, tenant_id, route, conversation_ids, filter, request_id, position,
            ${exactTime('accessed_at')} AS cursor_time
       FROM rm_access
      WHERE ($1::text IS NULL OR tenant_id = $1)
        AND ($2::uuid IS NULL OR key_id = $2)
        AND ($3::uuid IS NULL OR conversation_ids @> ARRAY[$3::uuid])
        AND ($4::timestamptz IS NULL OR accessed_at >= $4)
        AND ($5::timestamptz IS NULL OR accessed_at < $5)
        AND ($6::timestamptz IS NULL OR (accessed_at, event_id) < ($6::timestamptz, $7::uuid))
      ORDER BY accessed_at DESC, event_id DESC
      LIMIT $8`,
    [
      filters.tenantId ?? null,
      filters.keyId ?? null,
      filters.conversationId ?? null,
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
      at: r.accessed_at.toISOString(),
      keyId: r.key_id,
      role: r.role,
      tenantId: r.tenant_id,
      route: r.route,
      conversationIds: r.conversation_ids,
      filter: r.filter,
      requestId: r.request_id,
      eventId: r.event_id,
      position: r.position,
    })),
    nextCursor: more && last ? encodeTimeCursor({ time: last.cursor_time, id: last.event_id }) : null,
  };
}
