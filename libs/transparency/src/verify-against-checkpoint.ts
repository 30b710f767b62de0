import type { Pool } from 'pg';
import { Frontier, isStoredLevel, leafHash, openCheckpoint, type NoteVerifier, type TreeNode } from '@app/tlog';
import { readStoredRuns } from './stored-nodes';

const PAGE = 10_000;

export interface LogVerification {
  ok: boolean;
  origin: string;
  /** The checkpoint's size and the events found for it. */
  treeSize: number;
  events: number;
  /** The first leaf of the recomputed tree that differs from the tree as sequenced, when found. */
  firstDifference?: {
    leafIndex: number;
    /** The last leaf of the range the difference lies in (the same when a leaf is named). */
    throughLeaf: number;
    event?: { eventId: string; streamId: string; version: number };
  };
  message: string;
}

interface EventRow {
  event_id: string;
  stream_id: string;
  version: string;
  hash: string;
  tx: string;
  pos: string;
}

/**
 * Recomputes the tree of a signed checkpoint from es_events in commit order (the events' chain
 * hashes; the stored tree is not trusted) and compares its root with the signed one. When they
 * differ, the first leaf that differs is found by comparing each recomputed node with the node
 * the sequencer stored when the event was fresh: a rewritten event or chain, a deleted stream, a
 * reordered log all show there. The note must carry a valid signature of one of `verifiers`.
 */
export async function verifyAgainstCheckpoint(
  pool: Pool,
  note: string,
  verifiers: readonly NoteVerifier[],
  onProgress: (events: number, total: number) => void = () => undefined,
): Promise<LogVerification> {
  const checkpoint = openCheckpoint(note, verifiers);
  if (!checkpoint.signatures.some((s) => s.verified)) throw new Error('the checkpoint carries no verified signature');
  const { origin, size } = checkpoint;
  const frontier = Frontier.empty();
  let difference: LogVerification['firstDifference'];
  let after = { tx: '0', pos: '0' };
  while (frontier.size < size) {
    const { rows } = await pool.query<EventRow>(
      `SELECT event_id, stream_id, stream_version::text AS version, hash, transaction_id::text AS tx,
              position::text AS pos
         FROM es_events WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
        ORDER BY transaction_id, position LIMIT $3`,
      [after.tx, after.pos, Math.min(PAGE, size - frontier.size)],
    );
    if (rows.length === 0) break;
    const first = frontier.size;
    const nodes = frontier.append(rows.map((r) => leafHash(Buffer.from(r.hash, 'hex'))));
    if (!difference) {
      const found = await firstStoredDifference(
        pool,
        nodes.filter((n) => isStoredLevel(n.level)),
      );
      if (found) {
        const leaf = found.level === 0 ? rows[found.index - first] : undefined;
        difference = {
          leafIndex: found.index * 2 ** found.level,
          throughLeaf: (found.index + 1) * 2 ** found.level - 1,
          ...(leaf
            ? { event: { eventId: leaf.event_id, streamId: leaf.stream_id, version: Number(leaf.version) } }
            : {}),
        };
      }
    }
    after = { tx: rows[rows.length - 1].tx, pos: rows[rows.length - 1].pos };
    onProgress(frontier.size, size);
  }
  const events = frontier.size;
  const ok = events === size && frontier.root().equals(checkpoint.rootHash);
  return { ok, origin, treeSize: size, events, firstDifference: ok ? undefined : difference, message: describe() };

  function describe(): string {
    if (ok) return `ok: the first ${size} events of the log match the checkpoint of ${origin} at tree size ${size}`;
    const short = events < size ? `the log holds ${events} events where the checkpoint signed ${size}; ` : '';
    if (!difference) {
      return (
        `FAILED: ${short}the tree recomputed from the log does not match the signed root ` +
        '(the stored tree does not locate the difference)'
      );
    }
    const where =
      difference.leafIndex === difference.throughLeaf
        ? `leaf ${difference.leafIndex}`
        : `leaves ${difference.leafIndex}..${difference.throughLeaf}`;
    const what = difference.event
      ? ` (now event ${difference.event.eventId}, ${difference.event.streamId} version ${difference.event.version})`
      : '';
    return (
      `FAILED: ${short}${where}${what} differs from the log as it was sequenced: ` +
      'the recomputed tree does not match the signed root'
    );
  }
}

/**
 * Of the recomputed nodes (of the levels the sequencer stores, leaves included) that differ from
 * (or are missing in) the stored tree, the one that ends first, a leaf before a subtree ending at
 * it: it holds the first leaf that differs.
 */
async function firstStoredDifference(pool: Pool, nodes: readonly TreeNode[]): Promise<TreeNode | null> {
  const leaves = nodes.filter((n) => n.level === 0);
  const upper = nodes.filter((n) => n.level > 0);
  // The page's leaves are consecutive: one run of the stored ranges (shorter where they end).
  const [storedLeaves] = leaves.length
    ? await readStoredRuns(pool, [{ level: 0, from: leaves[0].index, count: leaves.length }])
    : [[]];
  const { rows } = await pool.query<{ k: string; hash: Buffer | null }>(
    `SELECT q.k::text AS k, n.hash FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS q(level, index, k)
       LEFT JOIN tlog_nodes n ON n.level = q.level AND n.index = q.index`,
    [upper.map((n) => n.level), upper.map((n) => String(n.index))],
  );
  const differing = [
    ...leaves.filter((n, i) => !storedLeaves[i]?.equals(n.hash)),
    ...rows.filter((r) => !r.hash || !r.hash.equals(upper[Number(r.k) - 1].hash)).map((r) => upper[Number(r.k) - 1]),
  ].sort((a, b) => (a.index + 1) * 2 ** a.level - (b.index + 1) * 2 ** b.level || a.level - b.level);
  return differing[0] ?? null;
}
