import { canonicalBody } from './hash-chain';
import { InvalidEvent } from './errors';
import { formatPosition } from './position';
import { AppendOptions, AppendResult, ExpectedVersion, NewEvent } from './types';

/** A result as es_append_batch returns it. */
export interface AppendResultRow {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  transactionId: string;
  lastPosition: string;
  eventIds: string[];
  replayed: boolean;
}

/** What es_append_batch answers for one append: its result, or why it wrote nothing. */
export type AppendOutcome = AppendResultRow | { conflict: number } | { reused: true };

export function toAppendResult(r: AppendResultRow): AppendResult {
  return {
    streamId: r.streamId,
    firstVersion: r.firstVersion,
    lastVersion: r.lastVersion,
    position: formatPosition({ transactionId: r.transactionId, position: String(r.lastPosition) }),
    eventIds: r.eventIds,
    replayed: r.replayed,
  };
}

function expectedCode(v: ExpectedVersion): number {
  if (v === 'any') return -1;
  if (v === 'stream_exists') return -2;
  if (v === 'no_stream') return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidEvent(`invalid expected version ${v}`);
  return v;
}

/** Plain JSON (drops undefined), and refuses what jsonb cannot keep (NUL characters). */
function jsonClean<T>(value: T, what: string): T {
  const text = JSON.stringify(value);
  if (text.includes('\\u0000')) throw new InvalidEvent(`${what} contains a NUL character`);
  return JSON.parse(text) as T;
}

/**
 * One append in es_append_batch's input form, as JSON text. Built in the caller's turn, so a
 * bad event fails its own caller before it can join a batch, and a batch is a string join.
 */
export function encodeAppend(streamId: string, events: NewEvent[], options: AppendOptions): string {
  if (events.length === 0) throw new InvalidEvent('nothing to append');
  const e = events.map((ev) => {
    const occurredAt = new Date(ev.occurredAt).toISOString();
    const data = jsonClean(ev.data, 'data');
    const metadata = jsonClean(ev.metadata, 'metadata');
    const body = canonicalBody({ streamId, type: ev.type, data, metadata, occurredAt });
    return { eventId: ev.eventId, type: ev.type, data, metadata, occurredAt, body };
  });
  const idem = options.idempotency;
  const key = idem ? { sc: idem.scope, k: idem.key, h: idem.requestHash } : {};
  return JSON.stringify({ s: streamId, v: expectedCode(options.expectedVersion), e, ...key });
}
