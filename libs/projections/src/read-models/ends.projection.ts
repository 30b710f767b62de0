import type { PoolClient } from 'pg';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

/**
 * The ends index (with each end's latest review outcome) and the blocked attempts, in one
 * statement: one pass over the batch's range.
 */
export const endsProjection: Projection = {
  name: 'ends',
  tables: ['rm_ends', 'rm_blocked_ends'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(
      `WITH ev AS MATERIALIZED (
         SELECT type, event_id, conversation_id, tenant_id, data, occurred_at, stream_version, transaction_id, position
           FROM ${conversationEventsSql('ConversationEnded', 'EndDecisionReviewed', 'EndAttemptBlocked')}),
       -- The latest review of each end, in commit order, decides its outcome.
       review AS (
         SELECT DISTINCT ON (data->>'endEventId') (data->>'endEventId')::uuid AS end_event_id, data->>'outcome' AS outcome,
                occurred_at AS reviewed_at
           FROM ev WHERE type = 'EndDecisionReviewed'
          ORDER BY data->>'endEventId', transaction_id DESC, position DESC),
       ended AS (
         INSERT INTO rm_ends (end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, policy_version,
           ended_at, ended_at_message_id, redirection_count, version, position, review_outcome, reviewed_at)
         SELECT ev.event_id, conversation_id, tenant_id, data->>'reasonCode', data->>'initiator', data->>'modelId',
                (data->>'policyVersion')::int, occurred_at, (data->>'endedAtMessageId')::uuid, (data->>'redirectionCount')::int,
                stream_version, transaction_id::text || '-' || position::text, review.outcome, review.reviewed_at
           FROM ev LEFT JOIN review ON review.end_event_id = ev.event_id
          WHERE type = 'ConversationEnded'
         ON CONFLICT DO NOTHING),
       blocked AS (
         INSERT INTO rm_blocked_ends (event_id, conversation_id, tenant_id, initiator, proposed_reason_code, failed_guards,
           at_message_id, model_id, policy_version, attempted_at)
         SELECT event_id, conversation_id, tenant_id, data->>'initiator', data->>'proposedReasonCode',
                ARRAY(SELECT jsonb_array_elements_text(data->'failedGuards')), (data->>'atMessageId')::uuid, data->>'modelId',
                (data->>'policyVersion')::int, occurred_at
           FROM ev WHERE type = 'EndAttemptBlocked'
         ON CONFLICT DO NOTHING)
       -- Ends of earlier batches; this statement's own inserts took their outcome above (it cannot see them).
       UPDATE rm_ends e SET review_outcome = review.outcome, reviewed_at = review.reviewed_at
         FROM review WHERE e.end_event_id = review.end_event_id`,
      rangeParams(batch),
    );
  },
};
