import type { Pool } from 'pg';
import { parsePosition } from '@app/event-store';
import { readCheckpoints } from './checkpoints';

export interface ProjectionLag {
  name: string;
  position: string;
  /** Committed events not yet processed (counted up to 1,000,000). */
  lagEvents: number;
  /** Age of the oldest unprocessed event, 0 when up to date. */
  lagSeconds: number;
  updatedAt: string | null;
}

/** Checkpoint and lag of each projection (never-run ones start at the beginning). */
export async function projectionLags(pool: Pool, names: readonly string[]): Promise<ProjectionLag[]> {
  const checkpoints = new Map((await readCheckpoints(pool)).map((c) => [c.name, c]));
  const lags: ProjectionLag[] = [];
  for (const name of names) {
    const checkpoint = checkpoints.get(name);
    const position = checkpoint?.position ?? '0-0';
    const { transactionId, position: pos } = parsePosition(position);
    const { rows } = await pool.query<{ n: string; oldest: Date | null }>(
      `SELECT count(*)::text AS n, min(recorded_at) AS oldest FROM (
         SELECT recorded_at FROM es_events
          WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
          ORDER BY transaction_id, position LIMIT 1000000) behind`,
      [transactionId, pos],
    );
    const oldest = rows[0].oldest;
    lags.push({
      name,
      position,
      lagEvents: Number(rows[0].n),
      lagSeconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0,
      updatedAt: checkpoint?.updatedAt ?? null,
    });
  }
  return lags;
}
