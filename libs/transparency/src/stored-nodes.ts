import type { Pool, PoolClient } from 'pg';
import type { NodeId, SubtreeSource } from '@app/tlog';

type Db = Pool | PoolClient;

/**
 * The tree's stored perfect subtrees (tlog_nodes) as a SubtreeSource: the nodes a root or a
 * proof needs, O(log n) of them, read by primary key in one query.
 */
export class StoredNodes implements SubtreeSource {
  constructor(private readonly db: Db) {}

  async get(nodes: readonly NodeId[]): Promise<Buffer[]> {
    if (nodes.length === 0) return [];
    const { rows } = await this.db.query<{ hash: Buffer | null; level: number; index: string }>({
      name: 'tlog_nodes_get',
      text: `SELECT n.hash, q.level, q.index::text AS index
               FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS q(level, index, k)
               LEFT JOIN tlog_nodes n ON n.level = q.level AND n.index = q.index
              ORDER BY q.k`,
      values: [nodes.map((n) => n.level), nodes.map((n) => String(n.index))],
    });
    return rows.map((r) => {
      if (!r.hash) throw new Error(`tree node ${r.level}/${r.index} is not stored`);
      return r.hash;
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
