import type { PoolClient } from 'pg';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

/**
 * Daily counts of ends by reason and by model, beside conversations started (by the UTC day of
 * occurredAt); and reviews. One statement: one pass over the batch's range.
 */
export const statsProjection: Projection = {
  name: 'stats',
  tables: ['rm_daily_ends', 'rm_daily_started', 'rm_reviews'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(
      `WITH ev AS MATERIALIZED (
         SELECT type, conversation_id, tenant_id, data, occurred_at, (occurred_at AT TIME ZONE 'UTC')::date AS day
           FROM ${conversationEventsSql('ConversationStarted', 'ConversationEnded', 'EndDecisionReviewed')}),
       started AS (
         INSERT INTO rm_daily_started AS s (day, tenant_id, started)
         SELECT day, tenant_id, count(*) FROM ev WHERE type = 'ConversationStarted' GROUP BY 1, 2
         ON CONFLICT (day, tenant_id) DO UPDATE SET started = s.started + excluded.started),
       ended AS (
         INSERT INTO rm_daily_ends AS d (day, tenant_id, dimension, key, ends)
         SELECT day, tenant_id, k.dimension, k.key, count(*)
           FROM ev CROSS JOIN LATERAL (VALUES ('reasonCode', coalesce(data->>'reasonCode', '')),
                                              ('modelId', coalesce(data->>'modelId', ''))) AS k(dimension, key)
          WHERE type = 'ConversationEnded'
          GROUP BY 1, 2, 3, 4
         ON CONFLICT (day, tenant_id, dimension, key) DO UPDATE SET ends = d.ends + excluded.ends)
       INSERT INTO rm_reviews (review_id, end_event_id, conversation_id, tenant_id, reviewer_id, outcome, new_reason_code,
         error_type, note, reviewed_at)
       SELECT (data->>'reviewId')::uuid, (data->>'endEventId')::uuid, conversation_id, tenant_id, data->>'reviewerId',
              data->>'outcome', data->>'newReasonCode', data->>'errorType', data->>'note', occurred_at
         FROM ev WHERE type = 'EndDecisionReviewed'
       ON CONFLICT DO NOTHING`,
      rangeParams(batch),
    );
  },
};
