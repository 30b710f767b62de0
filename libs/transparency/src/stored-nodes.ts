import type { Pool, PoolClient } from 'pg';
import { HASH_SIZE, type NodeRun, type NodeRunReader, SteppedSource } from '@app/tlog';

type Db = Pool | PoolClient;

/** Leaves per tlog_ranges row at most (the table's check says the same). */
export const RANGE_LEAVES = 1024;

/**
 * The tree as stored, as a SubtreeSource: the sequencer stores the perfect subtrees of levels
 * 0, 4, 8, … (LEVEL_STEP), the leaves (level 0) as ranges in tlog_ranges, the others as rows of
 * tlog_nodes; a node of another level is computed from the at most 8 stored nodes below it. A
 * root or a proof reads O(log n) runs of consecutive nodes, each an index range scan (a leaf run,
 * the one or two ranges holding it), all in one query. Trees sequenced before stored every level:
 * their nodes of the other levels are still there and simply not read.
 */
export class StoredNodes extends SteppedSource {
  constructor(db: Db) {
    super(new StoredRuns(db));
  }
}

class StoredRuns implements NodeRunReader {
  constructor(private readonly db: Db) {}

  readRuns(runs: readonly NodeRun[]): Promise<Buffer[][]> {
    return readStoredRuns(this.db, runs);
  }
}

/**
 * Runs of stored nodes, each as its hashes (shorter than asked where nodes are missing). A row
 * per run, its hashes side by side: far fewer rows to ship and parse than nodes. A leaf run takes
 * its slice of each range it overlaps (the range holding its first leaf, found by the key, and
 * those after it below its end).
 */
export async function readStoredRuns(db: Db, runs: readonly NodeRun[]): Promise<Buffer[][]> {
  if (runs.length === 0) return [];
  const { rows } = await db.query<{ hashes: Buffer | null }>({
    name: 'tlog_node_runs_get',
    text: `SELECT CASE WHEN q.level = 0 THEN (
               SELECT string_agg(substring(r.hashes
                        FROM (greatest(q.lo, r.first_leaf) - r.first_leaf)::int * 32 + 1
                        FOR (least(q.hi, r.first_leaf + r.leaves) - greatest(q.lo, r.first_leaf))::int * 32),
                        ''::bytea ORDER BY r.first_leaf)
                 FROM tlog_ranges r
                WHERE r.first_leaf < q.hi AND r.first_leaf + r.leaves > q.lo
                  AND r.first_leaf >= coalesce((SELECT s.first_leaf FROM tlog_ranges s WHERE s.first_leaf <= q.lo
                                                 ORDER BY s.first_leaf DESC LIMIT 1), 0))
             ELSE (SELECT string_agg(n.hash, ''::bytea ORDER BY n.index) FROM tlog_nodes n
                    WHERE n.level = q.level AND n.index >= q.lo AND n.index < q.hi) END AS hashes
             FROM unnest($1::smallint[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS q(level, lo, hi, k)
            ORDER BY q.k`,
    values: [runs.map((r) => r.level), runs.map((r) => String(r.from)), runs.map((r) => String(r.from + r.count))],
  });
  return rows.map((r) => {
    const all = r.hashes ?? Buffer.alloc(0);
    // A hash of another length makes the run's length wrong: SteppedSource refuses it.
    if (all.length % HASH_SIZE !== 0) return [all];
    return Array.from({ length: all.length / HASH_SIZE }, (_, k) => all.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE));
  });
}

/** SQL of one row, `size`: the leaves the stored tree holds (the last range's end; 0 when none). */
export const STORED_SIZE_SQL = `SELECT coalesce((SELECT first_leaf + leaves FROM tlog_ranges
  ORDER BY first_leaf DESC LIMIT 1), 0) AS size`;

/** Leaves the sequencer has stored (committed): the size of the current tree, from its ranges. */
export async function storedTreeSize(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string }>({
    name: 'tlog_tree_size',
    text: `SELECT size::text AS n FROM (${STORED_SIZE_SQL}) AS stored`,
  });
  return Number(rows[0].n);
}

/** A leaf: its index, the event and the event's chain hash (its leaf data). */
export interface StoredLeaf {
  leafIndex: number;
  eventId: string;
  streamId: string;
  version: number;
  chainHash: string;
  tenantId: string | null;
}

/**
 * The leaf's tenant: metadata.tenantId; an access entry (ContentAccessed, in `access-<tenant in
 * lower case>-<shard>`, no tenant in its metadata) is its data.tenantId's when that is the
 * stream's tenant, else no tenant's.
 */
const LEAF_COLUMNS = `l.leaf_index::text AS leaf_index, e.event_id, e.stream_id, e.stream_version::text AS version,
  e.hash, CASE WHEN e.stream_id LIKE 'access-%'
    THEN CASE WHEN lower(e.data->>'tenantId') = substring(e.stream_id FROM '^access-(.+)-[0-9]+$')
      THEN e.data->>'tenantId' END
    ELSE e.metadata->>'tenantId' END AS tenant_id`;

interface LeafRow {
  leaf_index: string;
  event_id: string;
  stream_id: string;
  version: string;
  hash: string;
  tenant_id: string | null;
}

const toLeaf = (r: LeafRow): StoredLeaf => ({
  leafIndex: Number(r.leaf_index),
  eventId: r.event_id,
  streamId: r.stream_id,
  version: Number(r.version),
  chainHash: r.hash,
  tenantId: r.tenant_id,
});

/**
 * SQL of the range `r` holding a place (`tx`, `pos`: SQL expressions) of the commit order: the
 * range whose first event is the last at or before it (by the ranges' unique key), as a subquery.
 * Leaves are assigned in that order and a sequenced range never gains an event, so a place's
 * offset in its range is the count of the range's events before it (countInRangeUpTo).
 */
const rangeAt = (tx: string, pos: string) =>
  `(SELECT * FROM tlog_ranges s WHERE (s.first_transaction_id, s.first_position) <= (${tx}, ${pos})
     ORDER BY s.first_transaction_id DESC, s.first_position DESC LIMIT 1) r`;

/** SQL: the events of range `r` from its first up to the place, before it (`<`) or through it (`<=`). */
const countInRangeUpTo = (tx: string, pos: string, op: '<' | '<=') =>
  `(SELECT count(*) FROM es_events x
     WHERE (x.transaction_id, x.position) >= (r.first_transaction_id, r.first_position)
       AND (x.transaction_id, x.position) ${op} (${tx}, ${pos})
       AND x.transaction_id BETWEEN r.first_transaction_id AND ${tx})`;

/**
 * SQL joining the leaf index (`l.leaf_index`) of the event `e` names, when it is sequenced: its
 * range's first leaf plus the range's events before it (at most RANGE_LEAVES - 1, one index range
 * count on es_events' key); no row when the event is past the last range's last event.
 */
export function joinLeafIndex(e: string): string {
  const [tx, pos] = [`${e}.transaction_id`, `${e}.position`];
  return `JOIN LATERAL (
    SELECT r.first_leaf + ${countInRangeUpTo(tx, pos, '<')} AS leaf_index FROM ${rangeAt(tx, pos)}
     WHERE (${tx}, ${pos}) <= (r.last_transaction_id, r.last_position)) l ON true`;
}

/**
 * Leaves up to and including the event at (or last before) a commit-order place: its range whole
 * when the place is past the range's last event, else the range's first leaf plus its events up
 * to the place. 0 before the first range.
 */
export async function leavesThrough(db: Db, transactionId: string, position: string): Promise<number> {
  const [tx, pos] = ['$1::xid8', '$2::bigint'];
  const { rows } = await db.query<{ n: string }>(
    `SELECT (CASE WHEN (${tx}, ${pos}) >= (r.last_transaction_id, r.last_position) THEN r.first_leaf + r.leaves
                  ELSE r.first_leaf + ${countInRangeUpTo(tx, pos, '<=')} END)::text AS n
       FROM ${rangeAt(tx, pos)}`,
    [transactionId, position],
  );
  return rows.length ? Number(rows[0].n) : 0;
}

/** The leaf of an event (by id, lower case), null when it is not sequenced (or unknown). */
export async function leafOfEvent(db: Db, eventId: string): Promise<StoredLeaf | null> {
  const { rows } = await db.query<LeafRow>(
    `SELECT ${LEAF_COLUMNS} FROM es_events e ${joinLeafIndex('e')} WHERE e.event_id = $1`,
    [eventId],
  );
  return rows.length ? toLeaf(rows[0]) : null;
}

/** The leaf of a stream's event at a version, null when it is not sequenced (or unknown). */
export async function leafOfStreamVersion(db: Db, streamId: string, version: number): Promise<StoredLeaf | null> {
  const { rows } = await db.query<LeafRow>(
    `SELECT ${LEAF_COLUMNS} FROM es_events e ${joinLeafIndex('e')}
      WHERE e.stream_id = $1 AND e.stream_version = $2`,
    [streamId, version],
  );
  return rows.length ? toLeaf(rows[0]) : null;
}
