import type { Pool, PoolClient } from 'pg';

export interface Checkpoint {
  name: string;
  position: string;
  events: number;
  updatedAt: string;
}

export const START_POSITION = '0-0';

/** The checkpoint without locking it (the start when the projection never ran). */
export async function readCheckpoint(db: Pool | PoolClient, name: string): Promise<string> {
  const { rows } = await db.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [
    name,
  ]);
  return rows[0]?.position ?? START_POSITION;
}

/** Locks the projection's checkpoint row for this transaction and returns its position. */
export async function lockCheckpoint(tx: PoolClient, name: string): Promise<string> {
  await tx.query('INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING', [name]);
  const { rows } = await tx.query<{ position: string }>(
    'SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE',
    [name],
  );
  return rows[0].position;
}

export async function saveCheckpoint(tx: PoolClient, name: string, position: string, processed: number): Promise<void> {
  await tx.query(
    'UPDATE projection_checkpoints SET position = $2, events = events + $3, updated_at = now() WHERE name = $1',
    [name, position, processed],
  );
}

export async function readCheckpoints(pool: Pool): Promise<Checkpoint[]> {
  const { rows } = await pool.query<{ name: string; position: string; events: string; updated_at: Date }>(
    'SELECT name, position, events::text, updated_at FROM projection_checkpoints ORDER BY name',
  );
  return rows.map((r) => ({
    name: r.name,
    position: r.position,
    events: Number(r.events),
    updatedAt: r.updated_at.toISOString(),
  }));
}
