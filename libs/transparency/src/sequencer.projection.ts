import type { PoolClient } from 'pg';
import { Frontier, leafHash, type TreeNode } from '@app/tlog';
import { type Batch, IN_BATCH_SQL, type Projection, rangeParams } from '@app/projections';
import { StoredNodes, storedTreeSize } from './stored-nodes';

export const SEQUENCER_NAME = 'transparency-log';

/**
 * How the sequencer's runner polls: not woken by every commit like the read models, but every
 * quarter second in batches of up to 5,000 events: fewer, larger transactions cost the appends
 * less, and nothing waits on a leaf within the second (checkpointCovering waits for it).
 */
export const SEQUENCER_RUNNER_OPTIONS = { pollIntervalMs: 250, batchSize: 5000 } as const;

/**
 * The sequencer: every event of es_events, in commit order and of every stream, becomes the next
 * leaf of the Merkle tree; leaf data = the event's 32-byte chain hash. Run by a ProjectionRunner
 * (lease; the leaves, the nodes and the checkpoint in one transaction; never skips a late
 * commit). Its tables are evidence: never emptied, never rebuilt (`evidence`).
 *
 * The tree's right edge (Frontier) is kept in memory between batches, and checked against the
 * stored tree's size at each batch: after a rolled-back batch, a crash, or a lease held by
 * another process meanwhile, it is loaded again from the stored nodes (O(log n) of them).
 */
export class SequencerProjection implements Projection<void> {
  readonly name = SEQUENCER_NAME;
  readonly tables: readonly string[] = [];
  readonly evidence = true;
  private frontier: Frontier | null = null;

  async apply(tx: PoolClient, batch: Batch): Promise<void> {
    const { rows } = await tx.query<{ tx: string; pos: string; hash: string }>({
      name: 'tlog_sequence_batch',
      text: `SELECT e.transaction_id::text AS tx, e.position::text AS pos, e.hash FROM es_events e
              WHERE ${IN_BATCH_SQL} ORDER BY e.transaction_id, e.position`,
      values: rangeParams(batch),
    });
    if (rows.length === 0) return;
    // The leaves are recomputed from es_events, deterministically: a crash that loses this commit
    // loses its checkpoint with it, and the batch is sequenced again the same way. No checkpoint is
    // signed over it before it is durable (the signer's own commit flushes the WAL before it).
    await tx.query('SET LOCAL synchronous_commit = off');
    const size = await storedTreeSize(tx);
    if (this.frontier?.size !== size) this.frontier = await Frontier.load(new StoredNodes(tx), size);
    // Appended to a copy: the edge moves on only with a batch that was written.
    const next = this.frontier.clone();
    const nodes = next.append(rows.map((r) => leafHash(Buffer.from(r.hash, 'hex'))));
    await insertLeaves(tx, size, rows);
    await insertNodes(tx, nodes);
    this.frontier = next;
  }
}

async function insertLeaves(tx: PoolClient, first: number, rows: { tx: string; pos: string }[]): Promise<void> {
  await tx.query({
    name: 'tlog_insert_leaves',
    text: `INSERT INTO tlog_leaves (transaction_id, position, leaf_index)
           SELECT u.tx, u.pos, $1::bigint + u.k - 1
             FROM unnest($2::xid8[], $3::bigint[]) WITH ORDINALITY AS u(tx, pos, k)`,
    values: [first, rows.map((r) => r.tx), rows.map((r) => r.pos)],
  });
}

/** Stores nodes set-based, in one statement (hashes travel as hex). */
export async function insertNodes(tx: PoolClient, nodes: readonly TreeNode[]): Promise<void> {
  if (nodes.length === 0) return;
  await tx.query({
    name: 'tlog_insert_nodes',
    text: `INSERT INTO tlog_nodes (level, index, hash)
           SELECT u.level, u.index, decode(u.hash, 'hex')
             FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS u(level, index, hash)`,
    values: [nodes.map((n) => n.level), nodes.map((n) => String(n.index)), nodes.map((n) => n.hash.toString('hex'))],
  });
}
