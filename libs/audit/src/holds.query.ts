import type { HoldItem } from '@app/privacy';
import { decodeTimeCursor, encodeTimeCursor, InvalidCursor } from './cursor';
import { exactTime, Page, pageLimit, Queryable } from './queryable';

interface HoldRow {
  hold_id: string;
  reason: string;
  placed_at: Date;
  placed_by: string;
  released_at: Date | null;
  released_by: string | null;
  cursor_time: string;
}

/**
 * A subject's legal holds, open and released, newest first (placed, then hold id, both
 * descending), a keyset page at a time: however many there are, every one can be read.
 */
export async function listHolds(
  q: Queryable,
  subject: { tenantId: string; subjectId: string },
  page: { limit?: number; cursor?: string } = {},
): Promise<Page<HoldItem>> {
  const limit = pageLimit(page.limit);
  const after = page.cursor === undefined ? null : decodeTimeCursor(page.cursor);
  if (page.cursor !== undefined && !after) throw new InvalidCursor();
  const { rows } = await q.query<HoldRow>(
    `SELECT hold_id, reason, placed_at, placed_by, released_at, released_by, ${exactTime('placed_at')} AS cursor_time
       FROM subject_holds
      WHERE tenant_id = $1 AND subject_id = $2
        AND ($3::timestamptz IS NULL OR (placed_at, hold_id) < ($3::timestamptz, $4::uuid))
      ORDER BY placed_at DESC, hold_id DESC
      LIMIT $5`,
    [subject.tenantId, subject.subjectId, after?.time ?? null, after?.id ?? null, limit + 1],
  );
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return {
    items: shown.map((r) => ({
      holdId: r.hold_id,
      reason: r.reason,
      placedAt: r.placed_at.toISOString(),
      placedBy: r.placed_by,
      ...(r.released_at ? { releasedAt: r.released_at.toISOString() } : {}),
      ...(r.released_by ? { releasedBy: r.released_by } : {}),
    })),
    nextCursor: more ? encodeTimeCursor({ time: last.cursor_time, id: last.hold_id }) : null,
  };
}
