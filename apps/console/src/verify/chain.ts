// The conversation's hash chain recomputed in the browser from the events as the timeline answers
// them: each event's hash is SHA-256(prevHash ‖ RFC 8785 JSON of its hashed fields), and each
// prevHash is the previous event's hash (64 zeros for version 1). The same rule as the server's
// libs/event-store/src/hash-chain.ts (chain.spec.ts checks both agree on events it hashes).
// Encrypted fields are answered opened in `data`; the stored form, which is what is hashed, comes
// beside it as `storedData` whenever the two differ: the chain is recomputed from `storedData ?? data`.
import { canonicalize } from 'json-canonicalize';
import { toHex } from './bytes';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainEvent {
  streamId: string;
  version: number;
  type: string;
  /** As read: sealed fields opened (or null where erased). */
  data: unknown;
  /** The data as stored and hashed, when it differs from `data` (sealed fields are envelopes there). */
  storedData?: unknown;
  metadata: unknown;
  occurredAt: string;
  hash: string;
  prevHash: string;
}

export type ChainCheck =
  | { valid: true; count: number; lastHash: string }
  | { valid: false; count: number; brokenAtVersion: number; why: string };

/** The RFC 8785 JSON the server hashes (libs/event-store canonicalEvent), of the data as stored. */
export function canonicalEvent(e: Omit<ChainEvent, 'hash' | 'prevHash'>): string {
  return canonicalize({
    streamId: e.streamId,
    version: e.version,
    type: e.type,
    data: e.storedData ?? e.data,
    metadata: e.metadata,
    occurredAt: e.occurredAt,
  });
}

export async function chainHash(prevHash: string, canonicalJson: string): Promise<string> {
  const bytes = new TextEncoder().encode(prevHash + canonicalJson);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/** Every event's content against its hash and every link to the previous one; the first bad version. */
export async function checkChain(events: ChainEvent[]): Promise<ChainCheck> {
  const count = events.length;
  if (count === 0) return { valid: false, count, brokenAtVersion: 1, why: 'there are no events' };
  let prev = GENESIS_HASH;
  let expected = 1;
  for (const e of events) {
    const broken = (why: string): ChainCheck => ({ valid: false, count, brokenAtVersion: expected, why });
    if (e.version !== expected) return broken('an event is missing');
    if (e.prevHash !== prev) return broken('its prevHash is not the previous event’s hash');
    if ((await chainHash(prev, canonicalEvent(e))) !== e.hash) return broken('its content does not match its hash');
    prev = e.hash;
    expected++;
  }
  return { valid: true, count, lastHash: prev };
}
