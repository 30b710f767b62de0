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
import { Batch, Projection } from '../projection';
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
function foldGroups(
  groups: Groups,
  before: (id: string) => ConversationState | undefined,
): [string, ConversationState][] {
  const folded: [string, ConversationState][] = [];
  for (const [id, group] of groups) {
    const state = foldEvents(group, before(id) ?? initialState());
    if (state.exists) folded.push([id, state]);
  }
  return folded;
}

/** The rows of folded conversations, as the JSON array writeStatuses takes. */
function statusRows(folded: [string, ConversationState][]): string {
  return JSON.stringify(
    folded.map(([id, state]) => {
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
    }),
  );
}

/**
 * Writes status rows: inserts, or upserts when some of the conversations may have a row
 * already (a plain insert skips the speculative insertion an upsert pays for per row).
 */
async function writeStatuses(tx: PoolClient, rows: string, mayExist: boolean): Promise<void> {
  if (rows === '[]') return;
  await tx.query(
    `INSERT INTO rm_conversations AS c (conversation_id, tenant_id, subject_id, model_id, status, ` +
      `active_leaf_message_id,
       message_count, branch_count, redirection_count, open_risk_flags, ends, started_at, last_event_at, ` +
      `version, snapshot)
     SELECT conversation_id, tenant_id, subject_id, model_id, status, active_leaf_message_id, message_count, ` +
      `branch_count,
            redirection_count, open_risk_flags, ends, started_at, last_event_at, version, snapshot
       FROM jsonb_to_recordset($1::jsonb) AS r(conversation_id uuid, tenant_id text, subject_id text, model_id text,
            status text, active_leaf_message_id uuid, message_count int, branch_count int, redirection_count int,
            open_risk_flags int, ends jsonb, started_at timestamptz, last_event_at timestamptz, version bigint, ` +
      `snapshot jsonb)
     ${
       mayExist
         ? `ON CONFLICT (conversation_id) DO UPDATE SET
       status = excluded.status, active_leaf_message_id = excluded.active_leaf_message_id,
       message_count = excluded.message_count, branch_count = excluded.branch_count,
       redirection_count = excluded.redirection_count, open_risk_flags = excluded.open_risk_flags,
       ends = excluded.ends, last_event_at = excluded.last_event_at, version = excluded.version, ` +
           `snapshot = excluded.snapshot`
         : ''
     }`,
    [rows],
  );
}

/** What a rebuild prepares of a batch: rows folded ahead, and the conversations left to apply. */
interface RebuildBatch {
  /** Conversations first seen in this batch: rows to insert. */
  fresh: string;
  /** Conversations folded from a state kept in memory: rows to upsert. */
  seen: string;
  /** Conversations whose state was evicted from memory: folded in apply, from the table. */
  reload: Groups;
}

/**
 * For a rebuild, which writes every batch in order in one transaction into emptied tables. The
 * fold runs ahead, in prepare, while the database writes the batch before: the states of the
 * conversations folded last stay in memory (up to `cacheSize`), so there is nothing to read
 * back. A conversation once evicted is always folded in apply instead, from its row, which the
 * transaction has written by then.
 */
export function threadStatusRebuild(cacheSize: number): Projection<RebuildBatch> {
  const states = new Map<string, ConversationState>(); // least recently folded first
  const evicted = new Set<string>();
  // Folds must follow the log order, whichever batch's events arrive first.
  let folding: Promise<unknown> = Promise.resolve();
  return {
    name: NAME,
    tables: TABLES,
    async prepare(db, batch) {
      const read = readConversationEvents(db, batch);
      const previous = folding;
      const prepared = (async () => {
        const groups = await read;
        await previous.catch(() => undefined);
        const reload: Groups = new Map();
        const fresh: [string, ConversationState][] = [];
        const seen: [string, ConversationState][] = [];
        for (const [id, group] of groups) {
          if (evicted.has(id)) {
            reload.set(id, group);
            continue;
          }
          const before = states.get(id);
          const state = foldEvents(group, before ?? initialState());
          if (!state.exists) continue;
          (before ? seen : fresh).push([id, state]);
          states.delete(id);
          states.set(id, state);
        }
        for (const id of states.keys()) {
          if (states.size <= cacheSize) break;
          states.delete(id);
          evicted.add(id);
        }
        return { fresh: statusRows(fresh), seen: statusRows(seen), reload };
      })();
      folding = prepared;
      return prepared;
    },
    async apply(tx: PoolClient, _batch: Batch, { fresh, seen, reload }: RebuildBatch): Promise<void> {
      await writeStatuses(tx, fresh, false);
      await writeStatuses(tx, seen, true);
      if (reload.size > 0) {
        const known = await loadStates(tx, [...reload.keys()]);
        await writeStatuses(tx, statusRows(foldGroups(reload, (id) => known.get(id))), true);
      }
    },
  };
}

/**
 * Thread status per conversation: the domain's own fold, one upsert per batch. Each row keeps
 * the domain's snapshot of the state to fold on from, without message content (folds read it
 * emptied). Its ends' explanations, cleared flags' notes and reviews' notes are folded from the
 * events as stored: envelopes (or plaintext written before encryption), never opened here, so a
 * destroyed key leaves nothing readable in this table and a rebuild brings nothing back.
 */
export const threadStatusProjection: Projection<Groups> = {
  name: NAME,
  tables: TABLES,
  prepare: readConversationEvents,
  async apply(tx: PoolClient, _batch: Batch, groups: Groups): Promise<void> {
    const known = await loadStates(tx, [...groups.keys()]);
    await writeStatuses(tx, statusRows(foldGroups(groups, (id) => known.get(id))), true);
  },
  forRebuild: () => threadStatusRebuild(20_000),
};
