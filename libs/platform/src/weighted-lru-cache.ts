/**
 * A map bounded by the total weight of its entries (not their count), least recently used
 * forgotten first: for values whose memory varies widely, such as folded conversations, where
 * one 50,000-event conversation weighs as much as 5,000 short ones. An entry heavier than the
 * bound is not kept; a bound of 0 keeps nothing.
 */
export class WeightedLruCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(
    readonly maxWeight: number,
    private readonly weightOf: (value: V) => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The weight held, all entries together. */
  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The value without counting it as a use (the LRU order stays). */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** Sets the value, weighed now (set it again after it grew). */
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weightOf(value);
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.total += weight;
    for (const [oldKey, oldest] of this.entries) {
      if (this.total <= this.maxWeight) break;
      this.entries.delete(oldKey);
      this.total -= oldest.weight;
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.weight;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
