import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { InvalidEvent } from './errors';
import { ChainVerification, StoredEvent } from './types';
import { comparePositions } from './position';

export const GENESIS_HASH = '0'.repeat(64);

interface HashedFields {
  streamId: string;
  type: string;
  data: unknown;
  metadata: unknown;
  occurredAt: string;
}

/** RFC 8785 canonical JSON of the hashed fields, version included. */
export function canonicalEvent(e: HashedFields & { version: number }): string {
  return `${canonicalBody(e)}${canonicalJson(e.version)}}`;
}

/** An event's data and metadata as canonical JSON (see canonicalJson). */
export interface CanonicalParts {
  data: string;
  metadata: string;
}

const partsOf = new WeakMap<object, CanonicalParts>();

/**
 * The canonical JSON of an event's data and metadata, made once per event object: the command
 * path measures an event by it (its size in its stream) and the store's append writes it, one
 * serialisation for both. Events are never changed once built, so the object is the key.
 * Refuses as canonicalBody does.
 */
export function canonicalParts(e: { data: unknown; metadata: unknown }): CanonicalParts {
  let parts = partsOf.get(e);
  if (parts === undefined) partsOf.set(e, (parts = serialisedParts(e)));
  return parts;
}

/** canonicalParts, made afresh (what verifying a stored event uses: nothing cached). */
function serialisedParts(e: { data: unknown; metadata: unknown }): CanonicalParts {
  for (const field of ['data', 'metadata'] as const) {
    if (typeof e[field] !== 'object' || e[field] === null) throw new InvalidEvent(`${field} must be a JSON object`);
  }
  return { data: canonicalJson(e.data, 'data'), metadata: canonicalJson(e.metadata, 'metadata') };
}

/**
 * The canonical JSON without its version: `version` sorts last among the hashed keys, so the
 * database completes it as body || version || '}' once it knows the version under its lock.
 * The keys in RFC 8785 order: data, metadata, occurredAt, streamId, type, version.
 * `parts`: the event's data and metadata already serialised (canonicalParts of the event).
 */
export function canonicalBody(e: HashedFields, parts: CanonicalParts = serialisedParts(e)): string {
  return (
    `{"data":${parts.data},"metadata":${parts.metadata},` +
    `"occurredAt":${canonicalJson(e.occurredAt, 'occurredAt')},"streamId":${canonicalJson(e.streamId, 'streamId')},` +
    `"type":${canonicalJson(e.type, 'type')},"version":`
  );
}

export function chainHash(prevHash: string, canonicalJson: string): string {
  return createHash('sha256')
    .update(prevHash + canonicalJson, 'utf8')
    .digest('hex');
}

/** Recomputes a stream's chain from its first event and names the first broken version. */
export function verifyChain(events: StoredEvent[]): ChainVerification {
  let prev = GENESIS_HASH;
  let expectedVersion = 1;
  for (const e of events) {
    if (e.version !== expectedVersion) {
      return { valid: false, count: events.length, brokenAtVersion: expectedVersion, reason: 'missing version' };
    }
    if (e.prevHash !== prev) {
      return { valid: false, count: events.length, brokenAtVersion: e.version, reason: 'prev_hash does not match' };
    }
    const hash = chainHash(prev, canonicalEvent(e));
    if (hash !== e.hash) {
      return {
        valid: false,
        count: events.length,
        brokenAtVersion: e.version,
        reason: 'content does not match its hash',
      };
    }
    prev = e.hash;
    expectedVersion++;
  }
  return { valid: true, count: events.length };
}

/** A stream's head as es_streams records it: the version and hash of its last event. */
export interface StreamHead {
  version: number;
  headHash: string;
}

/**
 * The chain from the first event, then the event at the recorded head: events cut from the
 * end, a last event rewritten with a fresh hash, or a stream whose head row is gone are broken
 * too. Read the head before the events: an append in between only adds events after the head,
 * which the chain still covers.
 */
export function verifyStreamChain(events: StoredEvent[], head: StreamHead | null): ChainVerification {
  const result = verifyChain(events);
  if (!result.valid || (events.length === 0 && !head)) return result;
  const broken = (brokenAtVersion: number, reason: string) => ({
    valid: false,
    count: events.length,
    brokenAtVersion,
    reason,
  });
  if (!head) return broken(1, 'the stream has no recorded head');
  const atHead = events.find((e) => e.version === head.version);
  if (!atHead) return broken((events.at(-1)?.version ?? 0) + 1, 'events recorded by the stream head are missing');
  if (atHead.hash !== head.headHash) return broken(head.version, 'the stream head does not match this event');
  return result;
}

/**
 * The first version of a stream (its events in version order) that commits before the version
 * under it, so that readers, who follow the log in commit order, read it first; null when the
 * stream reads in order. Not a broken chain (the hashes still hold) but a stream appended out of
 * order, which appends before 1764402800000-StreamOrderGuard could leave.
 */
export function firstOutOfCommitOrder(events: StoredEvent[]): number | null {
  for (let i = 1; i < events.length; i++) {
    if (comparePositions(events[i].position, events[i - 1].position) < 0) return events[i].version;
  }
  return null;
}
