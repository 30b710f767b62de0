import type { Pool } from 'pg';

/** A stream's folded state as of `version`, as its owner serialised it. */
export interface StreamSnapshot {
  version: number;
  /** The owner's version of the state's shape: a snapshot of another is never read. */
  schemaVersion: number;
  /** The stream's data and metadata as JSON, in bytes, up to `version` (for size limits). */
  bytes: number;
  state: unknown;
}

/**
 * Snapshots of streams (es_snapshots): the newest per stream and schema version. A cache of the
 * owner's fold, written best-effort: a failed write costs a longer fold later, nothing else.
 */
export class PostgresSnapshotStore {
  constructor(private readonly pool: Pool) {}

  /**
   * The stream's snapshot of this schema version, if its event is still the one at its version
   * (same hash); null otherwise.
   */
  async read(streamId: string, schemaVersion: number): Promise<StreamSnapshot | null> {
    const { rows } = await this.pool.query<{ version: string; bytes: string; state: unknown }>({
      name: 'es_read_snapshot',
      text: `SELECT s.version::text AS version, s.bytes::text AS bytes, s.state FROM es_snapshots s
               JOIN es_events e ON e.stream_id = s.stream_id AND e.stream_version = s.version AND e.hash = s.event_hash
              WHERE s.stream_id = $1 AND s.schema_version = $2`,
      values: [streamId, schemaVersion],
    });
    const row = rows[0];
    return row ? { version: Number(row.version), schemaVersion, bytes: Number(row.bytes), state: row.state } : null;
  }

  /**
   * Stores a snapshot unless a newer one (still of this chain) is there. `stateJson` is serialised by the caller while
   * the state is the one at `version` (the caller may go on folding onto it in place).
   */
  async write(streamId: string, snapshot: Omit<StreamSnapshot, 'state'> & { stateJson: string }): Promise<void> {
    await this.pool.query({
      name: 'es_write_snapshot',
      text: `INSERT INTO es_snapshots AS s (stream_id, schema_version, version, event_hash, bytes, state)
             SELECT e.stream_id, $2, e.stream_version, e.hash, $4, $5::jsonb FROM es_events e
              WHERE e.stream_id = $1 AND e.stream_version = $3
             ON CONFLICT (stream_id, schema_version) DO UPDATE
                SET version = EXCLUDED.version, event_hash = EXCLUDED.event_hash, bytes = EXCLUDED.bytes,
                    state = EXCLUDED.state, taken_at = now()
              WHERE s.version < EXCLUDED.version OR NOT EXISTS (
                SELECT FROM es_events x
                 WHERE x.stream_id = s.stream_id AND x.stream_version = s.version AND x.hash = s.event_hash)`,
      values: [streamId, snapshot.schemaVersion, snapshot.version, snapshot.bytes, snapshot.stateJson],
    });
  }
}
