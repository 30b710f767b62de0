import { canonicalBody } from './hash-chain';
import { InvalidEvent } from './errors';
import { formatPosition } from './position';
import { AppendOptions, AppendResult, ExpectedVersion, IdempotencyOptions, NewEvent } from './types';

/** A whole result, as es_append_batch reports a replay and as an idempotency key finds it. */
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

/** es_append_batch's reply: its transaction id, then one element per append, in order. */
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

/** One append, serialised for es_append (alone) and es_append_batch (with others). */
export interface AppendRequest {
  streamId: string;
  expected: number;
  /** JSON array of the events. */
  events: string;
  /** Their canonical bodies, newline-joined. */
  bodies: string;
  idempotency?: IdempotencyOptions;
}

/** Plain JSON (drops undefined), and refuses what jsonb cannot keep (NUL characters). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function jsonClean(value: unknown, what: string): { value: unknown; text: string } {
  const text = JSON.stringify(value);
  if (text.includes('\\u0000')) throw new InvalidEvent(`${what} contains a NUL character`);
  // JSON.stringify escapes only lone surrogates as \udXXX, which jsonb refuses: look closer then.
  if (text.includes('\\ud') && lonelySurrogate(value)) throw new InvalidEvent(`${what} contains a lone UTF-16 surrogate`);
  return { value: JSON.parse(text) as unknown, text };
}

function lonelySurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(lonelySurrogate);
  if (value && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || lonelySurrogate(v));
  }
  return false;
}

/**
 * Built in the caller's turn, so a bad event fails its own caller before it can join a
 * batch. The JSON is assembled from the texts already made: serialising is most of the work
 * an append costs here.
 */
export function encodeAppend(streamId: string, events: NewEvent[], options: AppendOptions): AppendRequest {
  if (events.length === 0) throw new InvalidEvent('nothing to append');
  const expected = expectedCode(options.expectedVersion);
  const json: string[] = [];
  const bodies: string[] = [];
  for (const ev of events) {
    if (typeof ev.eventId !== 'string' || typeof ev.type !== 'string') throw new InvalidEvent('eventId and type must be strings');
    const occurredAt = new Date(ev.occurredAt).toISOString();
    const data = jsonClean(ev.data, 'data');
    const metadata = jsonClean(ev.metadata, 'metadata');
    const body = canonicalBody({ streamId, type: ev.type, data: data.value, metadata: metadata.value, occurredAt });
    // newlines separate the bodies; canonical JSON escapes every one it holds
    if (body.includes('\n')) throw new Error('canonical JSON with a raw newline');
    bodies.push(body);
    json.push(
      `{"eventId":${JSON.stringify(ev.eventId)},"type":${JSON.stringify(ev.type)},` +
        `"data":${data.text},"metadata":${metadata.text},"occurredAt":"${occurredAt}"}`,
    );
  }
  return { streamId, expected, events: `[${json.join(',')}]`, bodies: bodies.join('\n'), idempotency: options.idempotency };
}

/** The request as an element of es_append_batch's p_appends. */
export function batchElement(r: AppendRequest): string {
  const idem = r.idempotency;
  const key = idem ? `,"sc":${JSON.stringify(idem.scope)},"k":${JSON.stringify(idem.key)},"h":${JSON.stringify(idem.requestHash)}` : '';
  return `{"s":${JSON.stringify(r.streamId)},"v":${r.expected},"e":${r.events}${key}}`;
}
