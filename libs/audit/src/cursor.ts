// Opaque keyset cursors: base64url of a small JSON array. Decoding is strict, so a forged or
// truncated cursor is a validation error (400), never a query error.

import { parseUuid } from '@app/event-store';

const BASE64URL = /^[A-Za-z0-9_-]{1,400}$/;
const EXACT_TIME = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DIGITS = /^\d{1,19}$/;

/** The last row of a page ordered by (time, id): time in full microsecond precision. */
export interface TimeCursor {
  time: string;
  id: string;
}

/** A cursor that this service did not hand out (the API refuses it as 400 before any query). */
export class InvalidCursor extends Error {
  constructor() {
    super('cursor must be a nextCursor returned by this list');
  }
}

const encode = (parts: unknown[]): string => Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');

function decode(raw: unknown): unknown[] | null {
  if (typeof raw !== 'string' || !BASE64URL.test(raw)) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    return Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** A real UTC instant (31 February and hour 24 are refused: PostgreSQL would refuse them too). */
function isExactTime(time: string): boolean {
  if (!EXACT_TIME.test(time)) return false;
  const parsed = new Date(time);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === time.slice(0, 19);
}

/** The order a list runs in by time: newest first (desc, the default) or oldest first (asc). */
export const LIST_ORDERS = ['desc', 'asc'] as const;
export type ListOrder = (typeof LIST_ORDERS)[number];

// The order is part of the cursor: a cursor of one order is no cursor of the other (400), so a
// page never continues in the wrong direction. Newest-first cursors keep their old form.
const TIME_TAG: Record<ListOrder, string> = { desc: 't', asc: 'ta' };

/** The keyset comparison and the ORDER BY direction of each order (SQL words, never input). */
export const KEYSET: Record<ListOrder, { cmp: '<' | '>'; dir: 'DESC' | 'ASC' }> = {
  desc: { cmp: '<', dir: 'DESC' },
  asc: { cmp: '>', dir: 'ASC' },
};

export const encodeTimeCursor = (c: TimeCursor, order: ListOrder = 'desc'): string =>
  encode([TIME_TAG[order], c.time, c.id]);

/**
 * The cursor of a list in `order` (default newest first); null for anything else, a cursor of
 * the other order included.
 */
export function decodeTimeCursor(raw: unknown, order: ListOrder = 'desc'): TimeCursor | null {
  const parts = decode(raw);
  if (!parts || parts.length !== 3 || parts[0] !== TIME_TAG[order]) return null;
  const [, time, id] = parts;
  if (typeof time !== 'string' || !isExactTime(time)) return null;
  // The one id parser: any letter case in, lower case out, as the uuid columns compare and answer it.
  const uuid = parseUuid(id);
  return uuid ? { time, id: uuid } : null;
}

/** A cursor over the event log's sequence positions (bigint as text). */
export const encodeSequenceCursor = (position: string): string => encode(['p', position]);

export function decodeSequenceCursor(raw: unknown): string | null {
  const parts = decode(raw);
  if (!parts || parts.length !== 2 || parts[0] !== 'p') return null;
  const position = parts[1];
  return typeof position === 'string' && DIGITS.test(position) && BigInt(position) <= 9223372036854775807n
    ? position
    : null;
}
