import type { Pool } from 'pg';
import { type Queryable, wrapContext } from './content-keys';
import { type MasterKeyRing, MasterKeyError } from './master-key';

/** Live and destroyed content keys per master key (destroyed keys keep none: `masterKeyId` null). */
export interface ContentKeyCount {
  masterKeyId: string | null;
  live: number;
  destroyed: number;
}

export async function contentKeyStatus(q: Queryable): Promise<ContentKeyCount[]> {
  const { rows } = await q.query<ContentKeyCount>(
    `SELECT master_key_id AS "masterKeyId",
            count(*) FILTER (WHERE destroyed_at IS NULL)::int AS live,
            count(*) FILTER (WHERE destroyed_at IS NOT NULL)::int AS destroyed
       FROM content_keys GROUP BY master_key_id ORDER BY master_key_id COLLATE "C" NULLS LAST`,
  );
  return rows;
}

/** Live keys wrapped by a master key this process does not hold: a rewrap would leave them unreadable. */
export class MissingMasterKey extends MasterKeyError {
  constructor(readonly missing: { masterKeyId: string; live: number }[]) {
    super(
      `${missing.map((m) => `${m.live} live content key(s) are wrapped by master key ${m.masterKeyId}`).join('; ')}, ` +
        'which neither CONTENT_KEY_FILE nor CONTENT_KEY_PREVIOUS_FILES holds: name its file in ' +
        'CONTENT_KEY_PREVIOUS_FILES and run again (nothing was rewrapped)',
    );
  }
}

export interface RewrapOptions {
  /** Keys per transaction. */
  batchSize?: number;
  /** After each batch commits: how many were rewrapped so far and how many remain. */
  onBatch?: (progress: { rewrapped: number; remaining: number }) => void;
}

export interface RewrapResult {
  /** Keys now wrapped by the current master key that were not before. */
  rewrapped: number;
  /** Keys destroyed (erased) or rewrapped by another rewrap while this one ran: left as they were. */
  changedMeanwhile: number;
}

interface Row {
  key_id: string;
  conversation_id: string;
  wrapped_key: Buffer;
  master_key_id: string;
}

/**
 * Master-key rotation without rewriting any event: every live content key wrapped by a master
 * key other than the ring's current one is unwrapped by its old key (CONTENT_KEY_PREVIOUS_FILES)
 * and wrapped by the current one (CONTENT_KEY_FILE), in batches of one transaction each. The
 * data keys themselves do not change: every envelope still opens, and processes that hold a key
 * unwrapped keep using it. Idempotent (a rerun rewraps 0) and resumable; refuses before writing
 * anything when a live key's master key is missing from the ring. Afterwards the old master key
 * is needed by nothing: the service runs without CONTENT_KEY_PREVIOUS_FILES.
 */
export async function rewrapContentKeys(
  pool: Pool,
  ring: MasterKeyRing,
  options: RewrapOptions = {},
): Promise<RewrapResult> {
  const current = ring.current;
  const { rows: pending } = await pool.query<{ masterKeyId: string; live: number }>(
    `SELECT master_key_id AS "masterKeyId", count(*)::int AS live FROM content_keys
      WHERE destroyed_at IS NULL AND master_key_id <> $1 GROUP BY master_key_id ORDER BY 1`,
    [current.id],
  );
  const missing = pending.filter((p) => ring.byId(p.masterKeyId) === undefined);
  if (missing.length > 0) throw new MissingMasterKey(missing);
  let remaining = pending.reduce((n, p) => n + p.live, 0);

  const batchSize = options.batchSize ?? 500;
  const result: RewrapResult = { rewrapped: 0, changedMeanwhile: 0 };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await pool.query<Row>(
      `SELECT key_id::text, conversation_id::text, wrapped_key, master_key_id FROM content_keys
        WHERE destroyed_at IS NULL AND master_key_id <> $1 AND key_id > $2
        ORDER BY key_id LIMIT $3`,
      [current.id, after, batchSize],
    );
    if (rows.length === 0) break;
    // Unwrap and wrap outside the transaction (a KMS may be slow); the update checks nothing changed.
    const rewrapped = await Promise.all(
      rows.map(async (row) => {
        const old = ring.byId(row.master_key_id);
        if (!old) throw new MissingMasterKey([{ masterKeyId: row.master_key_id, live: 1 }]);
        const context = wrapContext(row.key_id, row.conversation_id);
        return { row, wrapped: await current.wrap(await old.unwrap(row.wrapped_key, context), context) };
      }),
    );
    const c = await pool.connect();
    let failed: Error | undefined;
    try {
      await c.query('BEGIN');
      for (const { row, wrapped } of rewrapped) {
        const { rowCount } = await c.query(
          `UPDATE content_keys SET wrapped_key = $2, master_key_id = $3
            WHERE key_id = $1 AND master_key_id = $4 AND destroyed_at IS NULL`,
          [row.key_id, wrapped, current.id, row.master_key_id],
        );
        if (rowCount === 1) result.rewrapped++;
        else result.changedMeanwhile++;
      }
      await c.query('COMMIT');
    } catch (err) {
      failed = err as Error;
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release(failed);
    }
    remaining = Math.max(0, remaining - rows.length);
    options.onBatch?.({ rewrapped: result.rewrapped, remaining });
    after = rows[rows.length - 1].key_id;
  }
  return result;
}
