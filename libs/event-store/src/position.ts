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

export function parsePosition(value: string): GlobalPosition {
  const m = FORMAT.exec(value);
  if (!m) throw new InvalidPosition(value);
  return { transactionId: m[1], position: m[2] };
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
