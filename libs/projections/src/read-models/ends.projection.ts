import type { PoolClient } from 'pg';
import { eventData, typeIs } from '../event-sql';
import { Batch, Projection, rangeParams } from '../projection';
import { conversationEventsSql } from '../recorded';

const ended = eventData('ConversationEnded');
const reviewed = eventData('EndDecisionReviewed');
const blocked = eventData('EndAttemptBlocked');

/** One statement: one pass over the batch's range. */
const SQL = `WITH ev AS MATERIALIZED (
   SELECT type, event_id, conversation_id, tenant_id, data, occurred_at, stream_version, transaction_id, position
     FROM ${conversationEventsSql('ConversationEnded', 'EndDecisionReviewed', 'EndAttemptBlocked')}),
 -- The latest review of each end, in commit order, decides its outcome.
 review AS (
   SELECT DISTINCT ON (${reviewed.text('endEventId')}) (${reviewed.text('endEventId')})::uuid AS end_event_id,
          ${reviewed.text('outcome')} AS outcome, occurred_at AS reviewed_at
     FROM ev WHERE ${typeIs(['EndDecisionReviewed'])}
    ORDER BY ${reviewed.text('endEventId')}, transaction_id DESC, position DESC),
 ended AS (
   INSERT INTO rm_ends (end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, policy_version,
     ended_at, ended_at_message_id, redirection_count, version, position, review_outcome, reviewed_at)
   SELECT ev.event_id, conversation_id, tenant_id, ${ended.text('reasonCode')}, ${ended.text('initiator')},
          ${ended.text('modelId')}, (${ended.text('policyVersion')})::int, occurred_at,
          (${ended.text('endedAtMessageId')})::uuid, (${ended.text('redirectionCount')})::int,
          stream_version, transaction_id::text || '-' || position::text, review.outcome, review.reviewed_at
     FROM ev LEFT JOIN review ON review.end_event_id = ev.event_id
    WHERE ${typeIs(['ConversationEnded'])}
   ON CONFLICT DO NOTHING),
 blocked AS (
   INSERT INTO rm_blocked_ends (event_id, conversation_id, tenant_id, initiator, proposed_reason_code, failed_guards,
     at_message_id, model_id, policy_version, attempted_at)
   SELECT event_id, conversation_id, tenant_id, ${blocked.text('initiator')}, ${blocked.text('proposedReasonCode')},
          ARRAY(SELECT jsonb_array_elements_text(${blocked.json('failedGuards')})),
          (${blocked.text('atMessageId')})::uuid, ${blocked.text('modelId')}, (${blocked.text('policyVersion')})::int,
          occurred_at
     FROM ev WHERE ${typeIs(['EndAttemptBlocked'])}
   ON CONFLICT DO NOTHING)
 -- Ends of earlier batches; this statement's own inserts took their outcome above (it cannot see them).
 UPDATE rm_ends e SET review_outcome = review.outcome, reviewed_at = review.reviewed_at
   FROM review WHERE e.end_event_id = review.end_event_id`;

/** The ends index (with each end's latest review outcome) and the blocked attempts. */
export const endsProjection: Projection = {
  name: 'ends',
  tables: ['rm_ends', 'rm_blocked_ends'],
  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    await tx.query(SQL, rangeParams(batch));
  },
};
