import { formatPosition } from './position';
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
