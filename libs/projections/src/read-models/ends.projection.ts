import type { PoolClient } from 'pg';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

/** The ends index (with each end's latest review outcome) and the blocked attempts. */
export const endsProjection: Projection = {
  name: 'ends',
  tables: ['rm_ends', 'rm_blocked_ends'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    const range = rangeParams(batch);
    await tx.query(
      `INSERT INTO rm_ends (end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, policy_version,
         ended_at, ended_at_message_id, redirection_count, version, position)
       SELECT event_id, conversation_id, tenant_id, data->>'reasonCode', data->>'initiator', data->>'modelId',
              (data->>'policyVersion')::int, occurred_at, (data->>'endedAtMessageId')::uuid, (data->>'redirectionCount')::int,
              stream_version, transaction_id::text || '-' || position::text
         FROM ${conversationEventsSql('ConversationEnded')}
        WHERE conversation_id IS NOT NULL
       ON CONFLICT DO NOTHING`,
      range,
    );
    // The latest review of each end, in commit order, decides its outcome.
    await tx.query(
      `UPDATE rm_ends e SET review_outcome = r.outcome, reviewed_at = r.reviewed_at
         FROM (SELECT DISTINCT ON (data->>'endEventId') (data->>'endEventId')::uuid AS end_event_id,
                      data->>'outcome' AS outcome, occurred_at AS reviewed_at
                 FROM ${conversationEventsSql('EndDecisionReviewed')}
                WHERE conversation_id IS NOT NULL
                ORDER BY data->>'endEventId', transaction_id DESC, position DESC) r
        WHERE e.end_event_id = r.end_event_id`,
      range,
    );
    await tx.query(
      `INSERT INTO rm_blocked_ends (event_id, conversation_id, tenant_id, initiator, proposed_reason_code, failed_guards,
         at_message_id, model_id, policy_version, attempted_at)
       SELECT event_id, conversation_id, tenant_id, data->>'initiator', data->>'proposedReasonCode',
              ARRAY(SELECT jsonb_array_elements_text(data->'failedGuards')), (data->>'atMessageId')::uuid, data->>'modelId',
              (data->>'policyVersion')::int, occurred_at
         FROM ${conversationEventsSql('EndAttemptBlocked')}
        WHERE conversation_id IS NOT NULL
       ON CONFLICT DO NOTHING`,
      range,
    );
  },
};
