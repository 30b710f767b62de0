import type { PoolClient } from 'pg';
import type { StoredEvent } from '@app/event-store';
import { Projection, withRows } from '../projection';
import { conversationIdOf } from '../recorded';

const day = (iso: string) => iso.slice(0, 10);
const tenantOf = (e: StoredEvent) => String(e.metadata.tenantId ?? '');

/** Daily counts of ends by reason and by model, beside conversations started; and reviews. */
export const statsProjection: Projection = {
  name: 'stats',
  tables: ['rm_daily_ends', 'rm_daily_started', 'rm_reviews'],
  async apply(tx: PoolClient, events: StoredEvent[]): Promise<void> {
    const started = new Map<string, { day: string; tenantId: string; n: number }>();
    const ends = new Map<string, { day: string; tenantId: string; dimension: string; key: string; n: number }>();
    const bump = <T extends { n: number }>(m: Map<string, T>, k: string, init: Omit<T, 'n'>) => {
      const row = m.get(k) ?? ({ ...init, n: 0 } as T);
      row.n += 1;
      m.set(k, row);
    };
    for (const e of events.filter((x) => conversationIdOf(x.streamId))) {
      const d = day(e.occurredAt);
      const tenantId = tenantOf(e);
      if (e.type === 'ConversationStarted') bump(started, `${d}|${tenantId}`, { day: d, tenantId });
      if (e.type === 'ConversationEnded') {
        for (const [dimension, key] of [['reasonCode', e.data.reasonCode], ['modelId', e.data.modelId ?? '']] as const) {
          bump(ends, `${d}|${tenantId}|${dimension}|${key}`, { day: d, tenantId, dimension, key: String(key) });
        }
      }
    }
    await withRows(
      tx,
      `INSERT INTO rm_daily_started AS s (day, tenant_id, started)
       SELECT day, "tenantId", n FROM jsonb_to_recordset($1::jsonb) AS r(day date, "tenantId" text, n bigint)
       ON CONFLICT (day, tenant_id) DO UPDATE SET started = s.started + excluded.started`,
      [...started.values()],
    );
    await withRows(
      tx,
      `INSERT INTO rm_daily_ends AS d (day, tenant_id, dimension, key, ends)
       SELECT day, "tenantId", dimension, key, n
         FROM jsonb_to_recordset($1::jsonb) AS r(day date, "tenantId" text, dimension text, key text, n bigint)
       ON CONFLICT (day, tenant_id, dimension, key) DO UPDATE SET ends = d.ends + excluded.ends`,
      [...ends.values()],
    );
    const reviews = events
      .filter((e) => e.type === 'EndDecisionReviewed' && conversationIdOf(e.streamId))
      .map((e) => ({ ...e.data, conversationId: conversationIdOf(e.streamId), tenantId: tenantOf(e), reviewedAt: e.occurredAt }));
    await withRows(
      tx,
      `INSERT INTO rm_reviews (review_id, end_event_id, conversation_id, tenant_id, reviewer_id, outcome, new_reason_code,
         error_type, note, reviewed_at)
       SELECT "reviewId", "endEventId", "conversationId", "tenantId", "reviewerId", outcome, "newReasonCode", "errorType",
              note, "reviewedAt"
         FROM jsonb_to_recordset($1::jsonb) AS r("reviewId" uuid, "endEventId" uuid, "conversationId" uuid, "tenantId" text,
              "reviewerId" text, outcome text, "newReasonCode" text, "errorType" text, note text, "reviewedAt" timestamptz)
       ON CONFLICT DO NOTHING`,
      reviews,
    );
  },
};
