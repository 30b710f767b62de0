import type { PoolClient } from 'pg';
import {
  CONVERSATION_SNAPSHOT_SCHEMA,
  ConversationSnapshot,
  ConversationState,
  foldEvents,
  foldEventsInPlace,
  fromSnapshot,
  RecordedConversationEvent,
  snapshotPointAtOrBefore,
  toSnapshot,
  toThreadStatus,
} from '@app/conversation';
import { WeightedLruCache } from '@app/platform';
import { Batch, Projection } from '../projection';
import { readConversationEvents, readConversationSpans } from '../recorded';

/** A batch's conversation events, by conversation. */
type Groups = Map<string, RecordedConversationEvent[]>;

const NAME = 'thread-status';
const TABLES = ['rm_conversations'];

/** Snapshot points of rm_conversations rows (snapshotPointAtOrBefore): every 100 events below 1,600, then rarer. */
export const SNAPSHOT_EVERY = 100;

/** What a row of rm_conversations says of where it is. */
interface StoredRow {
  version: number;
  /** 0 when the row holds no snapshot (NULL in rows written before snapshot points: their version). */
  snapshotVersion: number;
  /**
   * Its snapshot is of this code's shape (snapshot_schema = CONVERSATION_SNAPSHOT_SCHEMA). One of
   * another shape, or written before snapshots carried their schema (NULL), is never read.
   */
  readable: boolean;
}

/** A folded conversation to write, and its new snapshot when the batch passed a snapshot point. */
interface Written {
  id: string;
  state: ConversationState;
  /** The state at the point, serialised there (the state has been folded on in place since). */
  snapshot: { version: number; json: string } | null;
}

/** Where rows of these conversations are (those without a row are not there). */
async function storedRows(tx: PoolClient, ids: string[]): Promise<Map<string, StoredRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<{
    conversation_id: string;
    version: string;
    snapshot_version: string;
    snapshot_schema: number | null;
  }>(
    `SELECT conversation_id, version::text, coalesce(snapshot_version, version)::text AS snapshot_version,
            snapshot_schema
       FROM rm_conversations WHERE conversation_id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(
    rows.map((r) => [
      r.conversation_id,
      {
        version: Number(r.version),
        snapshotVersion: Number(r.snapshot_version),
        readable: r.snapshot_schema === CONVERSATION_SNAPSHOT_SCHEMA,
      },
    ]),
  );
}

/** Whether events are exactly the versions after `from` through `through`, in order. */
const continues = (events: readonly RecordedConversationEvent[], from: number, through: number) =>
  events.length === through - from && events.every((e, i) => e.version === from + 1 + i);

/**
 * The states of stored rows, without memory of them: each row's snapshot and the events of its
 * stream from there through the row's version, read from the log. A row whose snapshot is of
 * another schema version (another version of this code, or one from before snapshots carried
 * it), is not at its snapshot_version, or whose events after it do not follow on without a gap (a
 * row written by an older version of this code after a migration, a log someone deleted events
 * from), is folded from its whole stream instead, as a rebuild would: never read, never trusted,
 * never a halt.
 */
async function loadStates(tx: PoolClient, stored: Map<string, StoredRow>): Promise<Map<string, ConversationState>> {
  const rows = new Map<string, StoredRow>();
  const whole = new Map<string, StoredRow>();
  for (const [id, row] of stored) (row.snapshotVersion === 0 || row.readable ? rows : whole).set(id, row);
  const withSnapshot = [...rows].filter(([, r]) => r.snapshotVersion > 0).map(([id]) => id);
  const snapshots = new Map<string, ConversationSnapshot>();
  if (withSnapshot.length > 0) {
    const { rows: found } = await tx.query<{ conversation_id: string; snapshot: ConversationSnapshot | null }>(
      'SELECT conversation_id, snapshot FROM rm_conversations WHERE conversation_id = ANY($1::uuid[])',
      [withSnapshot],
    );
    for (const r of found) if (r.snapshot) snapshots.set(r.conversation_id, r.snapshot);
  }
  const tails =
    rows.size === 0
      ? new Map<string, RecordedConversationEvent[]>()
      : await readConversationSpans(
          tx,
          [...rows].map(([conversationId, r]) => ({ conversationId, after: r.snapshotVersion, through: r.version })),
        );
  const loaded = new Map<string, ConversationState>();
  for (const [id, row] of rows) {
    const snapshot = snapshots.get(id);
    const tail = tails.get(id) ?? [];
    const sound =
      (row.snapshotVersion === 0 || snapshot?.version === row.snapshotVersion) &&
      continues(tail, row.snapshotVersion, row.version);
    if (!sound) {
      whole.set(id, row);
      continue;
    }
    // fromSnapshot's state is ours alone: folded on in place; the initial one is shared.
    loaded.set(id, snapshot ? foldEventsInPlace(fromSnapshot(snapshot), tail) : foldEvents(tail));
  }
  if (whole.size > 0) {
    const streams = await readConversationSpans(
      tx,
      [...whole].map(([conversationId, r]) => ({ conversationId, after: 0, through: r.version })),
    );
    for (const id of whole.keys()) loaded.set(id, foldEvents(streams.get(id) ?? []));
  }
  return loaded;
}

/**
 * Folds a conversation's events of a batch onto its state before the batch (its own, folded on
 * in place; the initial state when undefined), taking the snapshot at the last snapshot point the
 * events pass: serialised at once, as the state is folded on in place after it. Taken only when
 * the fold is exactly at the point there (a gap in the log leaves the row's snapshot as it was).
 */
function foldBatch(id: string, before: ConversationState | undefined, events: RecordedConversationEvent[]): Written {
  const fold = (state: ConversationState | undefined, es: RecordedConversationEvent[]) =>
    state ? foldEventsInPlace(state, es) : foldEvents(es);
  const point = snapshotPointAtOrBefore(events[events.length - 1].version, SNAPSHOT_EVERY);
  if (point <= (before?.version ?? 0)) return { id, state: fold(before, events), snapshot: null };
  const upTo = events.findIndex((e) => e.version > point);
  const atPoint = fold(before, upTo < 0 ? events : events.slice(0, upTo));
  const snapshot =
    atPoint.exists && atPoint.version === point ? { version: point, json: JSON.stringify(toSnapshot(atPoint)) } : null;
  return { id, state: upTo < 0 ? atPoint : foldEventsInPlace(atPoint, events.slice(upTo)), snapshot };
}

/**
 * The rows of folded conversations, as the JSON array writeStatuses takes. A stream that never
 * started a conversation is not one: it is left out, nothing to show for it.
 */
function statusRows(folded: Written[]): string {
  const rows: string[] = [];
  for (const { id, state, snapshot } of folded) {
    if (!state.exists) continue;
    const status = toThreadStatus(state);
    const row = JSON.stringify({
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
      // 0 without a new snapshot, as the proposed row of an upsert must satisfy the table's checks.
      snapshot_version: snapshot?.version ?? 0,
      snapshot_schema: snapshot ? CONVERSATION_SNAPSHOT_SCHEMA : null,
    });
    // The snapshot as serialised at its point (the state has moved on since).
    rows.push(`${row.slice(0, -1)},"snapshot":${snapshot?.json ?? 'null'}}`);
  }
  return `[${rows.join(',')}]`;
}

/**
 * Writes status rows: inserts, or upserts when some of the conversations may have a row
 * already (a plain insert skips the speculative insertion an upsert pays for per row). A row
 * without a new snapshot keeps the one it has.
 */
async function writeStatuses(tx: PoolClient, rows: string, mayExist: boolean): Promise<void> {
  if (rows === '[]') return;
  await tx.query(
    `INSERT INTO rm_conversations AS c (conversation_id, tenant_id, subject_id, model_id, status, ` +
      `active_leaf_message_id,
       message_count, branch_count, redirection_count, open_risk_flags, ends, started_at, last_event_at, ` +
      `version, snapshot_version, snapshot_schema, snapshot)
     SELECT conversation_id, tenant_id, subject_id, model_id, status, active_leaf_message_id, message_count, ` +
      `branch_count,
            redirection_count, open_risk_flags, ends, started_at, last_event_at, version, snapshot_version,
            snapshot_schema, snapshot
       FROM jsonb_to_recordset($1::jsonb) AS r(conversation_id uuid, tenant_id text, subject_id text, model_id text,
            status text, active_leaf_message_id uuid, message_count int, branch_count int, redirection_count int,
            open_risk_flags int, ends jsonb, started_at timestamptz, last_event_at timestamptz, version bigint, ` +
      `snapshot_version bigint, snapshot_schema smallint, snapshot jsonb)
     ${
       mayExist
         ? `ON CONFLICT (conversation_id) DO UPDATE SET
       status = excluded.status, active_leaf_message_id = excluded.active_leaf_message_id,
       message_count = excluded.message_count, branch_count = excluded.branch_count,
       redirection_count = excluded.redirection_count, open_risk_flags = excluded.open_risk_flags,
       ends = excluded.ends, last_event_at = excluded.last_event_at, version = excluded.version, ` +
           `snapshot_version = CASE WHEN excluded.snapshot IS NULL THEN coalesce(c.snapshot_version, c.version) ` +
           `ELSE excluded.snapshot_version END, ` +
           `snapshot_schema = CASE WHEN excluded.snapshot IS NULL THEN c.snapshot_schema ` +
           `ELSE excluded.snapshot_schema END, snapshot = coalesce(excluded.snapshot, c.snapshot)`
         : ''
     }`,
    [rows],
  );
}

/** The events of the states a live thread-status projection keeps in memory, all conversations together. */
export const LIVE_STATES_EVENTS = 200_000;

/** Where a transaction's connection points: a process may hold several databases (tests do). */
function databaseOf(tx: PoolClient): string {
  const { host, port, database } = tx as PoolClient & { host?: string; port?: number; database?: string };
  return `${host}:${port}/${database}`;
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
 * back. A conversation once evicted is always folded in apply instead, from its row (snapshot
 * and the events after it), which the transaction has written by then.
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
        const fresh: Written[] = [];
        const seen: Written[] = [];
        for (const [id, group] of groups) {
          if (evicted.has(id)) {
            reload.set(id, group);
            continue;
          }
          const before = states.get(id);
          const folded = foldBatch(id, before, group);
          if (!folded.state.exists) continue;
          (before ? seen : fresh).push(folded);
          states.delete(id);
          states.set(id, folded.state);
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
        const known = await loadStates(tx, await storedRows(tx, [...reload.keys()]));
        const folded = [...reload].map(([id, group]) => foldBatch(id, known.get(id), group));
        await writeStatuses(tx, statusRows(folded), true);
      }
    },
  };
}

/**
 * Thread status per conversation: the domain's own fold, one upsert per batch. Each row keeps a
 * snapshot of the state as of its stream's last snapshot point (snapshotPointAtOrBefore), without
 * message content (folds read it emptied), and the state to fold on from is the one this process
 * folded last when the row is still at its version (states of up to `statesEvents` events in
 * memory), else the row's snapshot and the events after it. So a batch costs about the same on a
 * long conversation as on a short one (what still grows with it: the thread status's count of
 * branches looks at every message, 0.4 ms at 10,000): before, each batch read, parsed, serialised
 * and wrote the whole snapshot (80 ms of the process per message on a 10,000-event conversation).
 *
 * The remembered state is trusted only while its version is the row's: a batch this process
 * folded but did not commit, a rebuild, or another process's runner having written since,
 * leave the row elsewhere, and the state is loaded again. A batch that fails forgets the states
 * it touched (they are folded in place).
 *
 * Its ends' explanations, cleared flags' notes and reviews' notes are folded from the events as
 * stored: envelopes (or plaintext written before encryption), never opened here, so a destroyed
 * key leaves nothing readable in this table and a rebuild brings nothing back.
 */
export function liveThreadStatus(statesEvents = LIVE_STATES_EVENTS): Projection<Groups> {
  const caches = new Map<string, WeightedLruCache<string, ConversationState>>();
  const cacheOf = (tx: PoolClient) => {
    const key = databaseOf(tx);
    let cache = caches.get(key);
    if (!cache) {
      // A process has one database; tests have many, one after another: the oldest goes.
      if (caches.size >= 4) caches.delete(caches.keys().next().value!);
      cache = new WeightedLruCache(statesEvents, (state) => state.version + 1);
      caches.set(key, cache);
    }
    return cache;
  };
  return {
    name: NAME,
    tables: TABLES,
    prepare: readConversationEvents,
    async apply(tx: PoolClient, _batch: Batch, groups: Groups): Promise<void> {
      const cache = cacheOf(tx);
      const ids = [...groups.keys()];
      try {
        const stored = await storedRows(tx, ids);
        const befores = new Map<string, ConversationState>();
        const cold = new Map<string, StoredRow>();
        for (const [id, row] of stored) {
          const remembered = cache.get(id);
          if (remembered && remembered.version === row.version) befores.set(id, remembered);
          else cold.set(id, row);
        }
        for (const [id, state] of await loadStates(tx, cold)) befores.set(id, state);
        const written = [...groups].map(([id, group]) => foldBatch(id, befores.get(id), group));
        await writeStatuses(tx, statusRows(written), true);
        for (const w of written)
          if (w.state.exists) cache.set(w.id, w.state);
          else cache.delete(w.id);
      } catch (err) {
        for (const id of ids) cache.delete(id);
        throw err;
      }
    },
    forRebuild: () => threadStatusRebuild(20_000),
  };
}

/** The thread-status projection of this process (liveThreadStatus). */
export const threadStatusProjection = liveThreadStatus();
