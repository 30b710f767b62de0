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
  const { rows } = await db.query<{ position: string }>({
    name: 'checkpoint-read',
    text: 'SELECT position FROM projection_checkpoints WHERE name = $1',
    values: [name],
  });
  return rows[0]?.position ?? START_POSITION;
}

/*
 * The three statements every batch of every runner runs are named (prepared once per connection):
 * parsed and planned anew they were a visible share of a small batch's cost.
 */

/**
 * Locks the projection's checkpoint row for this transaction and returns its position; creates
 * the row first the one time it is not there yet (one statement per batch, not two).
 */
export async function lockCheckpoint(tx: PoolClient, name: string): Promise<string> {
  const lock = {
    name: 'checkpoint-lock',
    text: 'SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE',
  };
  const { rows } = await tx.query<{ position: string }>({ ...lock, values: [name] });
  if (rows.length > 0) return rows[0].position;
  await tx.query({
    name: 'checkpoint-create',
    text: 'INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING',
    values: [name],
  });
  const created = await tx.query<{ position: string }>({ ...lock, values: [name] });
  return created.rows[0].position;
}

export async function saveCheckpoint(tx: PoolClient, name: string, position: string, processed: number): Promise<void> {
  await tx.query({
    name: 'checkpoint-save',
    text: 'UPDATE projection_checkpoints SET position = $2, events = events + $3, updated_at = now() WHERE name = $1',
    values: [name, position, processed],
  });
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
