import type { Pool, PoolClient } from 'pg';
import { Frontier, HASH_SIZE, isStoredLevel, type TreeNode } from '@app/tlog';
import type { ChangeSignal } from '@app/platform';
import { type Batch, IN_BATCH_SQL, type Projection, rangeParams, type RunnerOptions } from '@app/projections';
import { RANGE_LEAVES, STORED_SIZE_SQL, StoredNodes, storedTreeSize } from './stored-nodes';

export const SEQUENCER_NAME = 'transparency-log';

/**
 * How the sequencer's runner polls: not woken by every commit like the read models, but one
 * batch (of up to 5,000 events) per tenth of a second at most, also while events keep coming
 * (batchIntervalMs): each batch has a fixed cost of about 2.5 ms of CPU (its transaction, the
 * checkpoint, a dozen statements), and without the pause a runner under load took a batch of
 * 50-odd events per commit, which cost the appends three times what sequencing them does.
 * Nothing waits on a leaf within the second (checkpointCovering waits for it).
 */
export const SEQUENCER_RUNNER_OPTIONS = { pollIntervalMs: 100, batchIntervalMs: 100, batchSize: 5000 } as const;

/**
 * The sequencer's runner in a service that hears appends announced (`changes`): between batches
 * it waits for one (or a second) instead of looking every tenth of a second, still one batch per
 * tenth of a second at most while events keep coming. Idle, it read the log ten times a second
 * (8 ms of the API's CPU per second, of 31).
 */
export const sequencerRunnerOptions = (changes?: ChangeSignal): RunnerOptions =>
  changes ? { ...SEQUENCER_RUNNER_OPTIONS, pollIntervalMs: 1000, changes } : SEQUENCER_RUNNER_OPTIONS;

/**
 * The sequencer: every event of es_events, in commit order and of every stream, becomes the next
 * leaf of the Merkle tree; leaf data = the event's 32-byte chain hash. Run by a ProjectionRunner
 * (lease; the leaves, the nodes and the checkpoint in one transaction; never skips a late
 * commit). Its tables are evidence: never emptied, never rebuilt (`evidence`). Of the nodes an
 * append completes it stores those of levels 0, 4, 8, … (isStoredLevel; StoredNodes computes the
 * others): the leaves (level 0) as ranges of up to RANGE_LEAVES in tlog_ranges, a row per range,
 * and about 1/15 of an upper node per event in tlog_nodes.
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
    let frontier = this.frontier ?? (await loadFrontier(tx, await storedTreeSize(tx)));
    let written = await insertLeaves(tx, batch, frontier.size);
    if (written.storedSize !== frontier.size) {
      // The stored tree is not the edge held in memory (nothing was written): load it, again.
      frontier = await loadFrontier(tx, written.storedSize);
      written = await insertLeaves(tx, batch, frontier.size);
      if (written.storedSize !== frontier.size) throw new Error('the stored tree changed during the batch');
    }
    // Appended to a copy: the edge moves on only with a batch that was written.
    const next = frontier.clone();
    const nodes = next.append(written.leaves);
    await insertNodes(
      tx,
      nodes.filter((n) => n.level > 0 && isStoredLevel(n.level)),
    );
    this.frontier = next;
  }
}

const loadFrontier = (tx: PoolClient, size: number) => Frontier.load(new StoredNodes(tx), size);

/**
 * The batch's events become leaves size, size + 1, … in commit order, in one statement that
 * never ships them out of the database: rows of tlog_ranges (up to RANGE_LEAVES consecutive
 * leaves each: their first leaf, their count, the places of their first and last events, and
 * their leaf hashes SHA-256(0x00 ‖ chain hash) side by side), a row per range, not per event;
 * the leaf hashes come back in leaf order, as one value. Only when the stored tree has `size`
 * leaves (else nothing is written, and its size comes back).
 *
 * The same statement turns synchronous_commit off for the transaction: the leaves are recomputed
 * from es_events, deterministically, so a crash that loses this commit loses its checkpoint with
 * it, and the batch is sequenced again the same way. No checkpoint is signed over it before it
 * is durable (the signer's own commit flushes the WAL before it).
 */
async function insertLeaves(
  tx: PoolClient,
  batch: Batch,
  size: number,
): Promise<{ storedSize: number; leaves: Buffer[] }> {
  const { rows } = await tx.query<{
    stored: string;
    n: number;
    written: number;
    hashes: Buffer | null;
  }>({
    name: 'tlog_insert_ranges',
    text: `WITH stored AS (${STORED_SIZE_SQL}),
           b AS (
             SELECT e.transaction_id, e.position,
                    row_number() OVER (ORDER BY e.transaction_id, e.position) - 1 AS k,
                    sha256('\\x00'::bytea || decode(e.hash, 'hex')) AS hash
               FROM es_events e WHERE ${IN_BATCH_SQL} AND (SELECT size FROM stored) = $5::bigint),
           ranges AS (
             INSERT INTO tlog_ranges (first_leaf, leaves, first_transaction_id, first_position,
                                      last_transaction_id, last_position, hashes)
             SELECT $5::bigint + min(k), count(*),
                    (array_agg(transaction_id ORDER BY k))[1], (array_agg(position ORDER BY k))[1],
                    (array_agg(transaction_id ORDER BY k DESC))[1], (array_agg(position ORDER BY k DESC))[1],
                    string_agg(hash, ''::bytea ORDER BY k)
               FROM b GROUP BY k / $6::int
             RETURNING leaves)
           SELECT (SELECT size FROM stored)::text AS stored, count(*)::int AS n,
                  (SELECT coalesce(sum(leaves), 0) FROM ranges)::int AS written,
                  string_agg(hash, ''::bytea ORDER BY k) AS hashes,
                  set_config('synchronous_commit', 'off', true) AS synchronous_commit
             FROM b`,
    values: [...rangeParams(batch), size, RANGE_LEAVES],
  });
  const { stored, n, written, hashes } = rows[0];
  const storedSize = Number(stored);
  if (storedSize !== size) return { storedSize, leaves: [] };
  if (n === 0) return { storedSize, leaves: [] };
  if (written !== n || hashes?.length !== n * HASH_SIZE) {
    throw new Error(`the leaves of the batch are not ${size}..${size + n - 1}`);
  }
  return {
    storedSize,
    leaves: Array.from({ length: n }, (_, k) => hashes.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE)),
  };
}

/** Stores nodes set-based, in one statement (hashes travel as hex). */
export async function insertNodes(tx: Pool | PoolClient, nodes: readonly TreeNode[]): Promise<void> {
  if (nodes.length === 0) return;
  await tx.query({
    name: 'tlog_insert_nodes',
    text: `INSERT INTO tlog_nodes (level, index, hash)
           SELECT u.level, u.index, decode(u.hash, 'hex')
             FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS u(level, index, hash)`,
    values: [nodes.map((n) => n.level), nodes.map((n) => String(n.index)), nodes.map((n) => n.hash.toString('hex'))],
  });
}
