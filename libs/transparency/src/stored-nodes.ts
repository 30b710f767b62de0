import type { Pool, PoolClient } from 'pg';
import { HASH_SIZE, type NodeRun, type NodeRunReader, SteppedSource } from '@app/tlog';

type Db = Pool | PoolClient;

/**
 * The tree as stored in tlog_nodes, as a SubtreeSource: the sequencer stores the perfect
 * subtrees of levels 0, 4, 8, … (LEVEL_STEP), and a node of another level is computed from the
 * at most 8 stored nodes below it. A root or a proof reads O(log n) runs of consecutive nodes,
 * each an index range scan, all in one query. Trees sequenced before stored every level: their
 * nodes of the other levels are still there and simply not read.
 */
export class StoredNodes extends SteppedSource {
  constructor(db: Db) {
    super(new StoredRuns(db));
  }
}

class StoredRuns implements NodeRunReader {
  constructor(private readonly db: Db) {}

  async readRuns(runs: readonly NodeRun[]): Promise<Buffer[][]> {
    if (runs.length === 0) return [];
    // A row per run, its hashes side by side: far fewer rows to ship and parse than nodes.
    const { rows } = await this.db.query<{ hashes: Buffer | null }>({
      name: 'tlog_node_runs_get',
      text: `SELECT (SELECT string_agg(n.hash, ''::bytea ORDER BY n.index) FROM tlog_nodes n
                      WHERE n.level = q.level AND n.index >= q.lo AND n.index < q.hi) AS hashes
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
}

/** Leaves the sequencer has stored (committed): the size of the current tree, from its leaf nodes. */
export async function storedTreeSize(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: string }>({
    name: 'tlog_tree_size',
    text: 'SELECT coalesce(max(index) + 1, 0)::text AS n FROM tlog_nodes WHERE level = 0',
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

/** The leaf of an event (by id, lower case), null when it is not sequenced (or unknown). */
export async function leafOfEvent(db: Db, eventId: string): Promise<StoredLeaf | null> {
  const { rows } = await db.query<LeafRow>(
    `SELECT ${LEAF_COLUMNS} FROM es_events e JOIN tlog_leaves l USING (transaction_id, position) WHERE e.event_id = $1`,
    [eventId],
  );
  return rows.length ? toLeaf(rows[0]) : null;
}

/** The leaf of a stream's event at a version, null when it is not sequenced (or unknown). */
export async function leafOfStreamVersion(db: Db, streamId: string, version: number): Promise<StoredLeaf | null> {
  const { rows } = await db.query<LeafRow>(
    `SELECT ${LEAF_COLUMNS} FROM es_events e JOIN tlog_leaves l USING (transaction_id, position)
      WHERE e.stream_id = $1 AND e.stream_version = $2`,
    [streamId, version],
  );
  return rows.length ? toLeaf(rows[0]) : null;
}
