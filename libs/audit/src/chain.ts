import { StoredEvent, verifyChain } from '@app/event-store';
import type { Queryable } from './queryable';

/** What an auditor is told about a stream's hash chain. */
export interface ChainReport {
  valid: boolean;
  /** The first version whose link does not verify. */
  brokenAtVersion?: number;
  reason?: string;
}

/** The stream's head as es_streams records it (version and hash of its last event). */
export interface StreamHead {
  version: number;
  headHash: string;
}

/**
 * Recomputes a conversation's chain from its first event (RFC 8785 JSON, SHA-256 links), then
 * checks the event at the stream's recorded head: events removed from the end of a stream, or
 * a last event rewritten with a fresh hash, are caught too. Read the head before the events:
 * an append in between only adds events after the head, which the chain still covers.
 */
export function chainReport(events: StoredEvent[], head: StreamHead | null): ChainReport {
  const result = verifyChain(events);
  if (!result.valid) return { valid: false, brokenAtVersion: result.brokenAtVersion, reason: result.reason };
  if (!head) return { valid: true };
  const atHead = events.find((e) => e.version === head.version);
  if (!atHead) {
    return { valid: false, brokenAtVersion: (events.at(-1)?.version ?? 0) + 1, reason: 'events recorded by the stream head are missing' };
  }
  if (atHead.hash !== head.headHash) {
    return { valid: false, brokenAtVersion: head.version, reason: 'the stream head does not match this event' };
  }
  return { valid: true };
}

/** The recorded head of a stream, or null when the stream does not exist. */
export async function readStreamHead(
  q: Queryable,
  streamId: string,
): Promise<StreamHead | null> {
  const { rows } = await q.query<{ version: string; head_hash: string }>(
    'SELECT version::text AS version, head_hash FROM es_streams WHERE stream_id = $1',
    [streamId],
  );
  return rows[0] ? { version: Number(rows[0].version), headHash: rows[0].head_hash } : null;
}
