import type { PoolClient } from 'pg';
import type { StoredEvent } from '@app/event-store';
import { ConversationState, foldEvents, initialState, toThreadStatus } from '@app/conversation';
import { Projection, withRows } from '../projection';
import { byConversation, toRecorded } from '../recorded';

/** Message content lives in rm_messages; the status row keeps the rest of the state. */
function withoutContent(state: ConversationState): ConversationState {
  const messages = Object.fromEntries(Object.entries(state.messages).map(([id, m]) => [id, { ...m, content: '' }]));
  return { ...state, messages };
}

/** Thread status per conversation: the domain's own fold, one upsert per batch. */
export const threadStatusProjection: Projection = {
  name: 'thread-status',
  tables: ['rm_conversations'],
  async apply(tx: PoolClient, events: StoredEvent[]): Promise<void> {
    const groups = byConversation(events);
    if (groups.size === 0) return;
    const { rows } = await tx.query<{ conversation_id: string; state: ConversationState }>(
      'SELECT conversation_id, state FROM rm_conversations WHERE conversation_id = ANY($1::uuid[])',
      [[...groups.keys()]],
    );
    const known = new Map(rows.map((r) => [r.conversation_id, r.state]));
    const folded = [...groups].map(([id, group]) => [id, foldEvents(group.map(toRecorded), known.get(id) ?? initialState())] as const);
    // A stream that never started a conversation is not one: nothing to show for it.
    const upserts = folded.filter(([, state]) => state.exists).map(([id, state]) => {
      const status = toThreadStatus(state);
      return {
        conversation_id: id,
        tenant_id: state.tenantId,
        subject_id: state.subjectId,
        model_id: state.modelId,
        status: status.status,
        active_leaf_message_id: status.activeLeafMessageId,
        message_count: status.messageCount,
        branch_count: status.branchCount,
        redirection_count: status.redirectionCount,
        open_risk_flags: status.openRiskFlags,
        ends: status.ends,
        // From the state, not the batch: NOT NULL is checked on the proposed row before ON
        // CONFLICT, so a batch without ConversationStarted must still carry it.
        started_at: state.startedAt,
        last_event_at: status.lastEventAt,
        version: status.version,
        state: withoutContent(state),
      };
    });
    await withRows(
      tx,
      `INSERT INTO rm_conversations AS c (conversation_id, tenant_id, subject_id, model_id, status, active_leaf_message_id,
         message_count, branch_count, redirection_count, open_risk_flags, ends, started_at, last_event_at, version, state)
       SELECT conversation_id, tenant_id, subject_id, model_id, status, active_leaf_message_id, message_count, branch_count,
              redirection_count, open_risk_flags, ends, started_at, last_event_at, version, state
         FROM jsonb_to_recordset($1::jsonb) AS r(conversation_id uuid, tenant_id text, subject_id text, model_id text,
              status text, active_leaf_message_id uuid, message_count int, branch_count int, redirection_count int,
              open_risk_flags int, ends jsonb, started_at timestamptz, last_event_at timestamptz, version bigint, state jsonb)
       ON CONFLICT (conversation_id) DO UPDATE SET
         status = excluded.status, active_leaf_message_id = excluded.active_leaf_message_id,
         message_count = excluded.message_count, branch_count = excluded.branch_count,
         redirection_count = excluded.redirection_count, open_risk_flags = excluded.open_risk_flags,
         ends = excluded.ends, last_event_at = excluded.last_event_at, version = excluded.version, state = excluded.state`,
      upserts,
    );
  },
};
