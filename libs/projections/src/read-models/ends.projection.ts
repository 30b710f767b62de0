import type { PoolClient } from 'pg';
import type { StoredEvent } from '@app/event-store';
import { Projection, withRows } from '../projection';
import { conversationIdOf } from '../recorded';

const tenantOf = (e: StoredEvent) => String(e.metadata.tenantId ?? '');

/** The ends index (with each end's latest review outcome) and the blocked attempts. */
export const endsProjection: Projection = {
  name: 'ends',
  tables: ['rm_ends', 'rm_blocked_ends'],
  async apply(tx: PoolClient, events: StoredEvent[]): Promise<void> {
    const ends = events
      .filter((e) => e.type === 'ConversationEnded' && conversationIdOf(e.streamId))
      .map((e) => ({
        ...e.data,
        endEventId: e.eventId,
        conversationId: conversationIdOf(e.streamId),
        tenantId: tenantOf(e),
        endedAt: e.occurredAt,
        version: e.version,
        position: e.position,
      }));
    await withRows(
      tx,
      `INSERT INTO rm_ends (end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, policy_version,
         ended_at, ended_at_message_id, redirection_count, version, position)
       SELECT "endEventId", "conversationId", "tenantId", "reasonCode", initiator, "modelId", "policyVersion",
              "endedAt", "endedAtMessageId", "redirectionCount", version, position
         FROM jsonb_to_recordset($1::jsonb) AS r("endEventId" uuid, "conversationId" uuid, "tenantId" text, "reasonCode" text,
              initiator text, "modelId" text, "policyVersion" int, "endedAt" timestamptz, "endedAtMessageId" uuid,
              "redirectionCount" int, version bigint, position text)
       ON CONFLICT DO NOTHING`,
      ends,
    );
    // The latest review of each end, in commit order, decides its outcome.
    const latest = new Map<string, { endEventId: string; outcome: string; reviewedAt: string }>();
    for (const e of events.filter((x) => x.type === 'EndDecisionReviewed')) {
      const endEventId = String(e.data.endEventId);
      latest.set(endEventId, { endEventId, outcome: String(e.data.outcome), reviewedAt: e.occurredAt });
    }
    await withRows(
      tx,
      `UPDATE rm_ends e SET review_outcome = r.outcome, reviewed_at = r."reviewedAt"
         FROM jsonb_to_recordset($1::jsonb) AS r("endEventId" uuid, outcome text, "reviewedAt" timestamptz)
        WHERE e.end_event_id = r."endEventId"`,
      [...latest.values()],
    );
    const blocked = events
      .filter((e) => e.type === 'EndAttemptBlocked' && conversationIdOf(e.streamId))
      .map((e) => ({ ...e.data, eventId: e.eventId, conversationId: conversationIdOf(e.streamId), tenantId: tenantOf(e), attemptedAt: e.occurredAt }));
    await withRows(
      tx,
      `INSERT INTO rm_blocked_ends (event_id, conversation_id, tenant_id, initiator, proposed_reason_code, failed_guards,
         at_message_id, model_id, policy_version, attempted_at)
       SELECT "eventId", "conversationId", "tenantId", initiator, "proposedReasonCode",
              ARRAY(SELECT jsonb_array_elements_text("failedGuards")), "atMessageId", "modelId", "policyVersion", "attemptedAt"
         FROM jsonb_to_recordset($1::jsonb) AS r("eventId" uuid, "conversationId" uuid, "tenantId" text, initiator text,
              "proposedReasonCode" text, "failedGuards" jsonb, "atMessageId" uuid, "modelId" text, "policyVersion" int,
              "attemptedAt" timestamptz)
       ON CONFLICT DO NOTHING`,
      blocked,
    );
  },
};
