import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;

/** A signed checkpoint as stored: the note byte-exact. */
export interface StoredCheckpoint {
  treeSize: number;
  rootHash: Buffer;
  signedAt: Date;
  note: string;
  verifierKey: string;
}

interface CheckpointRow {
  size: string;
  root_hash: Buffer;
  signed_at: Date;
  note: string;
  verifier_key: string;
}

// The size as text under another name: ORDER BY tree_size must sort the bigint, not its text.
const COLUMNS = 'c.tree_size::text AS size, c.root_hash, c.signed_at, c.note, c.verifier_key';

const toCheckpoint = (r: CheckpointRow): StoredCheckpoint => ({
  treeSize: Number(r.size),
  rootHash: r.root_hash,
  signedAt: r.signed_at,
  note: r.note,
  verifierKey: r.verifier_key,
});

export async function latestCheckpoint(db: Db): Promise<StoredCheckpoint | null> {
  const { rows } = await db.query<CheckpointRow>(
    `SELECT ${COLUMNS} FROM tlog_checkpoints c ORDER BY c.tree_size DESC LIMIT 1`,
  );
  return rows.length ? toCheckpoint(rows[0]) : null;
}

/** Newest first, keyset-paginated by tree size: the page after `before` (exclusive). */
export async function listCheckpoints(
  db: Db,
  page: { before?: number; limit: number },
): Promise<{ items: StoredCheckpoint[]; next: number | null }> {
  const { rows } = await db.query<CheckpointRow>(
    `SELECT ${COLUMNS} FROM tlog_checkpoints c WHERE c.tree_size < $1 ORDER BY c.tree_size DESC LIMIT $2`,
    [page.before ?? Number.MAX_SAFE_INTEGER, page.limit + 1],
  );
  const items = rows.slice(0, page.limit).map(toCheckpoint);
  return { items, next: rows.length > page.limit ? items[items.length - 1].treeSize : null };
}

/** A signing key with the tree sizes it signed: from the size it took over, to its last (when retired). */
export interface LogKey {
  verifierKey: string;
  publicKey: Buffer;
  fromTreeSize: number;
  /** The last size it signed, once a later key took over. */
  toTreeSize?: number;
}

/** Every key, oldest first; the last is the current one. */
export async function logKeys(db: Db): Promise<LogKey[]> {
  const { rows } = await db.query<{ verifier_key: string; public_key: Buffer; from: string; to: string | null }>(
    `SELECT k.verifier_key, k.public_key, k.from_tree_size::text AS from,
            (SELECT max(c.tree_size)::text FROM tlog_checkpoints c WHERE c.verifier_key = k.verifier_key) AS to
       FROM tlog_keys k ORDER BY k.from_tree_size, k.registered_at`,
  );
  return rows.map((r, i) => ({
    verifierKey: r.verifier_key,
    publicKey: r.public_key,
    fromTreeSize: Number(r.from),
    ...(i < rows.length - 1 && r.to !== null ? { toTreeSize: Number(r.to) } : {}),
  }));
}
