import { canonicalBody, canonicalParts } from './hash-chain';
import { InvalidEvent } from './errors';
import { isUuid } from './event-id';
import { formatPosition } from './position';
import { AppendOptions, AppendResult, ExpectedVersion, IdempotencyOptions, NewEvent } from './types';

/** A whole result, as es_append_batch_bodies reports a replay and as an idempotency key finds it. */
export interface AppendResultRow {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  transactionId: string;
  lastPosition: string;
  eventIds: string[];
}

type BatchElement = [firstVersion: number, lastPosition: string] | AppendRefusal | { replayed: AppendResultRow };
type AppendRefusal = { conflict: number } | { reused: true };

/** es_append_batch_bodies's reply: its transaction id, then one element per append, in order. */
export interface BatchReply {
  tx: string;
  r: BatchElement[];
}

/** One append's outcome: appended (the caller knows the rest of its result), or not. */
export type AppendOutcome =
  | { appended: { transactionId: string; firstVersion: number; lastPosition: string } }
  | { replayed: AppendResultRow }
  | AppendRefusal;

export function splitReply(reply: BatchReply): AppendOutcome[] {
  return reply.r.map((e) =>
    Array.isArray(e) ? { appended: { transactionId: reply.tx, firstVersion: e[0], lastPosition: e[1] } } : e,
  );
}

export function toAppendResult(r: AppendResultRow, replayed: boolean): AppendResult {
  return {
    streamId: r.streamId,
    firstVersion: r.firstVersion,
    lastVersion: r.lastVersion,
    position: formatPosition({ transactionId: r.transactionId, position: String(r.lastPosition) }),
    eventIds: r.eventIds,
    replayed,
  };
}

function expectedCode(v: ExpectedVersion): number {
  if (v === 'any') return -1;
  if (v === 'stream_exists') return -2;
  if (v === 'no_stream') return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidEvent(`invalid expected version ${v}`);
  return v;
}

/**
 * Whether a stream at version `current` meets an expected version as expectedCode encodes it: the
 * append functions' own rule (-1 any, -2 an existing stream, else exactly that version).
 */
export const expectationMet = (expected: number, current: number): boolean =>
  expected === -1 || expected === current || (expected === -2 && current > 0);

/** One append, serialised for es_append_bodies (alone) and es_append_batch_bodies (with others). */
export interface AppendRequest {
  streamId: string;
  expected: number;
  eventIds: string[];
  /** The events' canonical bodies (see canonicalBody), newline-joined: all the database needs. */
  bodies: string;
  idempotency?: IdempotencyOptions;
}

/**
 * Built in the caller's turn, so a bad event fails its own caller before it can join a
 * batch. Each event goes to the database once, as its canonical body: serialising is most of
 * the work an append costs here, and the bytes sent are most of a batch's send time.
 */
export function encodeAppend(streamId: string, events: NewEvent[], options: AppendOptions): AppendRequest {
  if (events.length === 0) throw new InvalidEvent('nothing to append');
  const expected = expectedCode(options.expectedVersion);
  const eventIds: string[] = [];
  const bodies: string[] = [];
  for (const ev of events) {
    if (typeof ev.eventId !== 'string' || typeof ev.type !== 'string')
      throw new InvalidEvent('eventId and type must be strings');
    if (!isUuid(ev.eventId)) throw new InvalidEvent(`eventId ${JSON.stringify(ev.eventId)} is not a UUID`);
    const occurredAt = new Date(ev.occurredAt).toISOString();
    // canonicalBody refuses what jsonb cannot keep (NUL, lone surrogates), naming the field
    const body = canonicalBody(
      { streamId, type: ev.type, data: ev.data, metadata: ev.metadata, occurredAt },
      canonicalParts(ev),
    );
    // newlines separate the bodies; canonical JSON escapes every one it holds
    if (body.includes('\n')) throw new Error('canonical JSON with a raw newline');
    eventIds.push(ev.eventId);
    bodies.push(body);
  }
  return { streamId, expected, eventIds, bodies: bodies.join('\n'), idempotency: options.idempotency };
}
