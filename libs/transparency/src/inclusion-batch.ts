import type { Pool, PoolClient } from 'pg';
import { inclusionProof, inclusionRanges, leafHash, rangeNodes, type NodeId, type SubtreeSource } from '@app/tlog';
import { NotInTree } from './errors';
import { joinLeafIndex, StoredNodes } from './stored-nodes';

type Db = Pool | PoolClient;

/** An event by its stream and version. */
export interface StreamVersionRef {
  streamId: string;
  version: number;
}

/** An inclusion proof of one event at a tree size: what the HTTP inclusion answer holds, and the event. */
export interface EventInclusion {
  streamId: string;
  version: number;
  eventId: string;
  leafIndex: number;
  /** SHA-256(0x00 ‖ the event's 32-byte chain hash). */
  leafHash: Buffer;
  hashes: Buffer[];
}

const key = (n: NodeId) => `${n.level}/${n.index}`;

/**
 * Inclusion proofs of many events in the tree of `treeSize` leaves (an audit bundle's streams), in
 * two queries whatever their number: the events' leaves, then every stored node their proofs
 * need (shared upper nodes read once). In the order asked; NotInTree names the first event that
 * is not a leaf below `treeSize`. Keep batches to a few hundred events.
 */
export async function inclusionProofsAt(
  db: Db,
  refs: readonly StreamVersionRef[],
  treeSize: number,
): Promise<EventInclusion[]> {
  if (refs.length === 0) return [];
  const { rows } = await db.query<{ k: string; leaf_index: string; event_id: string; hash: string }>(
    `SELECT q.k::text AS k, l.leaf_index::text AS leaf_index, e.event_id, e.hash
       FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS q(stream_id, version, k)
       JOIN es_events e ON e.stream_id = q.stream_id COLLATE "C" AND e.stream_version = q.version
       ${joinLeafIndex('e')}
      ORDER BY q.k`,
    [refs.map((r) => r.streamId), refs.map((r) => r.version)],
  );
  const found = new Map(rows.map((r) => [Number(r.k) - 1, r]));
  const leaves = refs.map((ref, i) => {
    const row = found.get(i);
    if (!row || Number(row.leaf_index) >= treeSize) {
      throw new NotInTree(`${ref.streamId} version ${ref.version} is not in the tree of ${treeSize} leaves`);
    }
    return { ref, row, leafIndex: Number(row.leaf_index) };
  });

  const wanted = new Map<string, NodeId>();
  for (const { leafIndex } of leaves) {
    for (const [start, end] of inclusionRanges(leafIndex, treeSize)) {
      for (const node of rangeNodes(start, end)) wanted.set(key(node), node);
    }
  }
  const ids = [...wanted.values()];
  const hashes = await new StoredNodes(db).get(ids);
  const read = new Map(ids.map((n, i) => [key(n), hashes[i]]));
  const prefetched: SubtreeSource = { get: async (nodes) => nodes.map((n) => read.get(key(n))!) };

  const out: EventInclusion[] = [];
  for (const { ref, row, leafIndex } of leaves) {
    out.push({
      streamId: ref.streamId,
      version: ref.version,
      eventId: row.event_id,
      leafIndex,
      leafHash: leafHash(Buffer.from(row.hash, 'hex')),
      hashes: await inclusionProof(prefetched, leafIndex, treeSize),
    });
  }
  return out;
}
