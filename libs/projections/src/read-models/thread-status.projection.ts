import type { PoolClient } from 'pg';
import {
  ConversationSnapshot,
  ConversationState,
  foldEvents,
  fromSnapshot,
  initialState,
  RecordedConversationEvent,
  toSnapshot,
  toThreadStatus,
} from '@app/conversation';
import { Batch, Projection, withRows } from '../projection';
import { readConversationEvents } from '../recorded';

/** A batch's conversation events, by conversation. */
type Groups = Map<string, RecordedConversationEvent[]>;

const NAME = 'thread-status';
const TABLES = ['rm_conversations'];

/** The stored states of these conversations (those without a row are not there). */
async function loadStates(tx: PoolClient, ids: string[]): Promise<Map<string, ConversationState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<{ conversation_id: string; snapshot: ConversationSnapshot }>(
    'SELECT conversation_id, snapshot FROM rm_conversations WHERE conversation_id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.conversation_id, fromSnapshot(r.snapshot)]));
}

/**
 * Folds each conversation's events of the batch onto its state before the batch. A stream that
 * never started a conversation is not one: it is left out, nothing to show for it.
 */
function foldGroups(groups: Groups, before: (id: string) => ConversationState | undefined): [string, ConversationState][] {
  const folded: [string, ConversationState][] = [];
  for (const [id, group] of groups) {
    const state = foldEvents(group, before(id) ?? initialState());
    if (state.exists) folded.push([id, state]);
  }
  return folded;
}

function writeStatuses(tx: PoolClient, folded: [string, ConversationState][]): Promise<void> {
  const rows = folded.map(([id, state]) => {
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
      snapshot: toSnapshot(state),
    };
  });
  return withRows(
    tx,
    `INSERT INTO rm_conversations AS c (conversation_id, tenant_id, subject_id, model_id, status, active_leaf_message_id,
       message_count, branch_count, redirection_count, open_risk_flags, ends, started_at, last_event_at, version, snapshot)
     SELECT conversation_id, tenant_id, subject_id, model_id, status, active_leaf_message_id, message_count, branch_count,
            redirection_count, open_risk_flags, ends, started_at, last_event_at, version, snapshot
       FROM jsonb_to_recordset($1::jsonb) AS r(conversation_id uuid, tenant_id text, subject_id text, model_id text,
            status text, active_leaf_message_id uuid, message_count int, branch_count int, redirection_count int,
            open_risk_flags int, ends jsonb, started_at timestamptz, last_event_at timestamptz, version bigint, snapshot jsonb)
     ON CONFLICT (conversation_id) DO UPDATE SET
       status = excluded.status, active_leaf_message_id = excluded.active_leaf_message_id,
       message_count = excluded.message_count, branch_count = excluded.branch_count,
       redirection_count = excluded.redirection_count, open_risk_flags = excluded.open_risk_flags,
       ends = excluded.ends, last_event_at = excluded.last_event_at, version = excluded.version, snapshot = excluded.snapshot`,
    rows,
  );
}

/**
 * For a rebuild: the tables start empty and only this transaction writes them, so the states
 * of the conversations written last are kept in memory (up to `cacheSize`) instead of read
 * back; only a conversation evicted from the cache is read again.
 */
function threadStatusRebuild(cacheSize: number): Projection<Groups> {
  const states = new Map<string, ConversationState>(); // oldest write first
  const evicted = new Set<string>();
  return {
    name: NAME,
    tables: TABLES,
    prepare: readConversationEvents,
    async apply(tx: PoolClient, _batch: Batch, groups: Groups): Promise<void> {
      const reload = [...groups.keys()].filter((id) => evicted.has(id));
      const reloaded = reload.length > 0 ? await loadStates(tx, reload) : new Map<string, ConversationState>();
      const folded = foldGroups(groups, (id) => states.get(id) ?? reloaded.get(id));
      for (const [id, state] of folded) {
        states.delete(id);
        states.set(id, state);
        evicted.delete(id);
      }
      for (const id of states.keys()) {
        if (states.size <= cacheSize) break;
        states.delete(id);
        evicted.add(id);
      }
      await writeStatuses(tx, folded);
    },
  };
}

/**
 * Thread status per conversation: the domain's own fold, one upsert per batch. Each row keeps
 * the domain's snapshot of the state to fold on from (message content lives in rm_messages).
 */
export const threadStatusProjection: Projection<Groups> = {
  name: NAME,
  tables: TABLES,
  prepare: readConversationEvents,
  async apply(tx: PoolClient, _batch: Batch, groups: Groups): Promise<void> {
    const known = await loadStates(tx, [...groups.keys()]);
    await writeStatuses(tx, foldGroups(groups, (id) => known.get(id)));
  },
  forRebuild: () => threadStatusRebuild(20_000),
};
