import { LruCache } from '@app/platform';
import type { Principal } from './api-keys';

export interface KnownKey {
  principal: Principal;
  /** When the database last confirmed the key (process clock, ms). */
  checkedAt: number;
  /** When last_used_at was last written for it by this process (ms; 0: never). */
  touchedAt: number;
}

/**
 * Key lookups, by the key's SHA-256. Known keys and unknown ones live in two bounded LRUs, so a
 * flood of bogus keys only ever evicts other bogus keys, never a real caller's entry.
 */
export class KeyCache {
  private readonly known: LruCache<string, KnownKey>;
  private readonly unknown: LruCache<string, number>;

  constructor(capacity: number) {
    this.known = new LruCache(capacity);
    this.unknown = new LruCache(capacity);
  }

  knownEntry(hash: string): KnownKey | undefined {
    return this.known.get(hash);
  }

  /** True while `hash` is remembered as no valid key (until its expiry, process clock). */
  isUnknown(hash: string, now: number): boolean {
    const until = this.unknown.get(hash);
    if (until === undefined) return false;
    if (until > now) return true;
    this.unknown.delete(hash);
    return false;
  }

  rememberKnown(hash: string, principal: Principal, now: number, touchedAt = 0): KnownKey {
    const entry = { principal, checkedAt: now, touchedAt };
    this.unknown.delete(hash);
    this.known.set(hash, entry);
    return entry;
  }

  rememberUnknown(hash: string, until: number): void {
    this.known.delete(hash);
    this.unknown.set(hash, until);
  }

  forgetHash(hash: string): void {
    this.known.delete(hash);
  }

  /** Drops every cached entry of a key (revoked): at most the known LRU's capacity to scan, and rare. */
  forgetKey(keyId: string): void {
    for (const [hash, entry] of this.known) if (entry.principal.keyId === keyId) this.known.delete(hash);
  }

  forgetAllKnown(): void {
    this.known.clear();
  }

  get sizes(): { known: number; unknown: number } {
    return { known: this.known.size, unknown: this.unknown.size };
  }
}
