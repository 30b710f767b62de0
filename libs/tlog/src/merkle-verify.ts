import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './merkle';

// The verification algorithms of RFC 9162 2.1.3.2 and 2.1.4.2, written with arithmetic on plain numbers:
// JavaScript's bitwise operators truncate to 32 bits and tree sizes go beyond that.

const isSize = (n: number) => Number.isSafeInteger(n) && n >= 0;
const isHash = (h: Uint8Array) => h instanceof Uint8Array && h.length === HASH_SIZE;
const odd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** True when `proof` leads from the leaf hash at leafIndex to `root`, the root of the tree of `size` leaves. */
export function verifyInclusion(
  leafIndex: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isSize(leafIndex) || !isSize(size) || leafIndex >= size) return false;
  if (!isHash(leafHash) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = leafIndex;
  let sn = size - 1;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && same(r, root);
}

/** True when `proof` shows the tree of `to` leaves (toRoot) extends the tree of `from` leaves (fromRoot). */
export function verifyConsistency(
  from: number,
  to: number,
  proof: readonly Uint8Array[],
  fromRoot: Uint8Array,
  toRoot: Uint8Array,
): boolean {
  if (!isSize(from) || !isSize(to) || from > to) return false;
  if (!isHash(fromRoot) || !isHash(toRoot) || !proof.every(isHash)) return false;
  if (from === to) return proof.length === 0 && same(fromRoot, toRoot);
  if (from === 0) return proof.length === 0 && same(fromRoot, EMPTY_ROOT);
  const c = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  if (c.length === 0) return false;
  let fn = from - 1;
  let sn = to - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Uint8Array = c[0];
  let sr: Uint8Array = c[0];
  for (const x of c.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(x, fr);
      sr = nodeHash(x, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, x);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && same(fr, fromRoot) && same(sr, toRoot);
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}
