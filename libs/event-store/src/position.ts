import { InvalidPosition } from './errors';

/**
 * A global position is (writing transaction id, sequence position): commit order is the
 * transaction order, ties broken by the sequence. Callers see it as an opaque string.
 */
export interface GlobalPosition {
  transactionId: string;
  position: string;
}

export const START: GlobalPosition = { transactionId: '0', position: '0' };

const FORMAT = /^(\d{1,20})-(\d{1,19})$/;

export function formatPosition(p: GlobalPosition): string {
  return `${p.transactionId}-${p.position}`;
}

const MAX_XID8 = 2n ** 64n - 1n;
const MAX_BIGINT = 2n ** 63n - 1n;

export function parsePosition(value: string): GlobalPosition {
  const m = FORMAT.exec(value);
  if (!m || BigInt(m[1]) > MAX_XID8 || BigInt(m[2]) > MAX_BIGINT) throw new InvalidPosition(value);
  return { transactionId: m[1], position: m[2] };
}

/** True for a well-formed position within the database's ranges. */
export function isPosition(value: string): boolean {
  try {
    parsePosition(value);
    return true;
  } catch {
    return false;
  }
}

/** Orders two positions in commit order (negative when a comes first). */
export function comparePositions(a: string, b: string): number {
  const pa = parsePosition(a);
  const pb = parsePosition(b);
  const tx = BigInt(pa.transactionId) - BigInt(pb.transactionId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const pos = BigInt(pa.position) - BigInt(pb.position);
  return pos === 0n ? 0 : pos < 0n ? -1 : 1;
}
