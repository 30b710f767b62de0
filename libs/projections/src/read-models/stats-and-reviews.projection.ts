import type { PoolClient } from 'pg';
import { eventData, typeIs } from '../event-sql';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

const ended = eventData('ConversationEnded');
const reviewed = eventData('EndDecisionReviewed');

/** One statement: one pass over the batch's range. */
const SQL = `WITH ev AS MATERIALIZED (
   SELECT type, conversation_id, tenant_id, data, occurred_at, (occurred_at AT TIME ZONE 'UTC')::date AS day
     FROM ${conversationEventsSql('ConversationStarted', 'ConversationEnded', 'EndDecisionReviewed')}),
 started AS (
   INSERT INTO rm_daily_started AS s (day, tenant_id, started)
   SELECT day, tenant_id, count(*) FROM ev WHERE ${typeIs(['ConversationStarted'])} GROUP BY 1, 2
   ON CONFLICT (day, tenant_id) DO UPDATE SET started = s.started + excluded.started),
 ended AS (
   INSERT INTO rm_daily_ends AS d (day, tenant_id, dimension, key, ends)
   SELECT day, tenant_id, k.dimension, k.key, count(*)
     FROM ev CROSS JOIN LATERAL (VALUES ('reasonCode', coalesce(${ended.text('reasonCode')}, '')),
                                        ('modelId', coalesce(${ended.text('modelId')}, ''))) AS k(dimension, key)
    WHERE ${typeIs(['ConversationEnded'])}
    GROUP BY 1, 2, 3, 4
   ON CONFLICT (day, tenant_id, dimension, key) DO UPDATE SET ends = d.ends + excluded.ends)
 INSERT INTO rm_reviews (review_id, end_event_id, conversation_id, tenant_id, reviewer_id, outcome, new_reason_code,
   error_type, reviewed_at)
 SELECT (${reviewed.text('reviewId')})::uuid, (${reviewed.text('endEventId')})::uuid, conversation_id, tenant_id,
        ${reviewed.text('reviewerId')}, ${reviewed.text('outcome')}, ${reviewed.text('newReasonCode')},
        ${reviewed.text('errorType')}, occurred_at
   FROM ev WHERE ${typeIs(['EndDecisionReviewed'])}
 ON CONFLICT DO NOTHING`;

/**
 * Daily counts of ends by reason and by model, beside conversations started (by the UTC day of
 * occurredAt); and reviews.
 */
export const statsProjection: Projection = {
  name: 'stats',
  tables: ['rm_daily_ends', 'rm_daily_started', 'rm_reviews'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(SQL, rangeParams(batch));
  },
};
