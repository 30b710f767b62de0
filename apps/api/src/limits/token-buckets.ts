/** A refusal: how long until the bucket holds enough again, in whole seconds (Retry-After). */
export interface Refused {
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by name (a key id, a client address): `rate` tokens a second, at most `burst`
 * saved up. Memory is bounded: past `maxBuckets` the least recently used bucket is dropped
 * (an idle caller's, which has refilled by then unless `maxBuckets` others called since).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxBuckets = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `cost` tokens; null when allowed, else when to retry. Nothing is taken when refused. */
  take(name: string, cost = 1): Refused | null {
    const bucket = this.refill(name);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return null;
    }
    return { retryAfterSeconds: Math.max(1, Math.ceil((cost - bucket.tokens) / this.rate)) };
  }

  /** Takes tokens whatever is left (a penalty): the bucket may go into debt, down to -burst. */
  charge(name: string, cost: number): void {
    const bucket = this.refill(name);
    bucket.tokens = Math.max(bucket.tokens - cost, -this.burst);
  }

  get size(): number {
    return this.buckets.size;
  }

  private refill(name: string): Bucket {
    const now = this.now();
    const found = this.buckets.get(name);
    const bucket = found ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    // Map order is insertion order: re-inserting makes it the most recently used.
    if (found) this.buckets.delete(name);
    this.buckets.set(name, bucket);
    if (this.buckets.size > this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }
}
