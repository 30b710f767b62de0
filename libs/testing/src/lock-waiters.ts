import type { Pool } from 'pg';

/**
 * Waits until at least `n` sessions of the pool's database wait on a lock (a test holding a lock
 * to stop another transaction at a chosen point), polled; fails after 10 s.
 */
export async function untilWaitingOnLocks(pool: Pool, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0].n >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not ${n} sessions waiting on a lock`);
}
