import type { PoolClient } from 'pg';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

/** The UTC day of the event's occurredAt. */
const DAY = `(occurred_at AT TIME ZONE 'UTC')::date`;

/** Daily counts of ends by reason and by model, beside conversations started; and reviews. */
export const statsProjection: Projection = {
  name: 'stats',
  tables: ['rm_daily_ends', 'rm_daily_started', 'rm_reviews'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    const range = rangeParams(batch);
    await tx.query(
      `INSERT INTO rm_daily_started AS s (day, tenant_id, started)
       SELECT ${DAY}, tenant_id, count(*)
         FROM ${conversationEventsSql('ConversationStarted')}
        WHERE conversation_id IS NOT NULL
        GROUP BY 1, 2
       ON CONFLICT (day, tenant_id) DO UPDATE SET started = s.started + excluded.started`,
      range,
    );
    await tx.query(
      `INSERT INTO rm_daily_ends AS d (day, tenant_id, dimension, key, ends)
       SELECT ${DAY}, tenant_id, k.dimension, k.key, count(*)
         FROM ${conversationEventsSql('ConversationEnded')}
        CROSS JOIN LATERAL (VALUES ('reasonCode', coalesce(data->>'reasonCode', '')),
                                   ('modelId', coalesce(data->>'modelId', ''))) AS k(dimension, key)
        WHERE conversation_id IS NOT NULL
        GROUP BY 1, 2, 3, 4
       ON CONFLICT (day, tenant_id, dimension, key) DO UPDATE SET ends = d.ends + excluded.ends`,
      range,
    );
    await tx.query(
      `INSERT INTO rm_reviews (review_id, end_event_id, conversation_id, tenant_id, reviewer_id, outcome, new_reason_code,
         error_type, note, reviewed_at)
       SELECT (data->>'reviewId')::uuid, (data->>'endEventId')::uuid, conversation_id, tenant_id, data->>'reviewerId',
              data->>'outcome', data->>'newReasonCode', data->>'errorType', data->>'note', occurred_at
         FROM ${conversationEventsSql('EndDecisionReviewed')}
        WHERE conversation_id IS NOT NULL
       ON CONFLICT DO NOTHING`,
      range,
    );
  },
};
