import type { QueryResult, QueryResultRow } from 'pg';
import { formatPosition } from './position';
import type { StreamHead } from './hash-chain';
import type { StoredEvent } from './types';

/** The columns of a stored event, as `EventRow` names them. */
export const EVENT_COLUMNS = `transaction_id::text AS tx, position::text AS pos, stream_id, stream_version,
  event_id, type, data, metadata, occurred_at, recorded_at, prev_hash, hash`;

export interface EventRow {
  tx: string;
  pos: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurred_at: Date;
  recorded_at: Date;
  prev_hash: string;
  hash: string;
}

export function toStoredEvent(r: EventRow): StoredEvent {
  return {
    position: formatPosition({ transactionId: r.tx, position: r.pos }),
    streamId: r.stream_id,
    version: Number(r.stream_version),
    eventId: r.event_id,
    type: r.type,
    data: r.data,
    metadata: r.metadata,
    occurredAt: r.occurred_at.toISOString(),
    recordedAt: r.recorded_at.toISOString(),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** A pool or a checked-out client (a reader may hold a snapshot transaction). */
export interface EventQueryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** The recorded head of a stream, or null when it has none. */
export async function readStreamHead(q: EventQueryable, streamId: string): Promise<StreamHead | null> {
  const { rows } = await q.query<{ version: string; head_hash: string }>(
    'SELECT version::text AS version, head_hash FROM es_streams WHERE stream_id = $1',
    [streamId],
  );
  return rows[0] ? { version: Number(rows[0].version), headHash: rows[0].head_hash } : null;
}
