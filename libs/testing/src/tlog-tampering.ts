import type { Pool } from 'pg';

/**
 * The owner's attack on the transparency log's stored leaves, as tests play it: triggers off, the
 * stored hash of leaf `leaf` (in its range of tlog_ranges) replaced by SHA-256("forged"), triggers
 * on again. Answers the rows changed (1, or 0 when no range holds the leaf).
 */
export async function forgeStoredLeaf(pool: Pool, leaf: number): Promise<number> {
  await pool.query('ALTER TABLE tlog_ranges DISABLE TRIGGER tlog_ranges_no_update');
  try {
    const { rowCount } = await pool.query(
      `UPDATE tlog_ranges
          SET hashes = overlay(hashes PLACING sha256('forged') FROM ($1::bigint - first_leaf)::int * 32 + 1 FOR 32)
        WHERE first_leaf <= $1::bigint AND first_leaf + leaves > $1::bigint`,
      [leaf],
    );
    return rowCount ?? 0;
  } finally {
    await pool.query('ALTER TABLE tlog_ranges ENABLE ALWAYS TRIGGER tlog_ranges_no_update');
  }
}

/** The owner, triggers off, deletes the stored leaf ranges from the one holding leaf `from` on. */
export async function dropStoredLeavesFrom(pool: Pool, from: number): Promise<void> {
  await pool.query('ALTER TABLE tlog_ranges DISABLE TRIGGER tlog_ranges_no_update');
  try {
    await pool.query('DELETE FROM tlog_ranges WHERE first_leaf + leaves > $1::bigint', [from]);
  } finally {
    await pool.query('ALTER TABLE tlog_ranges ENABLE ALWAYS TRIGGER tlog_ranges_no_update');
  }
}
