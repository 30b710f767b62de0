interface Entry<V> {
  value: V;
  /** The cache's clock when the entry last moved to the most recent end. */
  movedAt: number;
}

/**
 * A bounded map that forgets its least recently used entry when full (Map keeps insertion
 * order, the oldest first).
 *
 * A hit moves its entry to the most recent end only when more than capacity / 4 insertions or
 * moves happened since it last moved: a Map delete and insert on every hit cost more than the
 * lookup itself on the hot paths that use this (a content key per sealed field, an API key per
 * request). An entry is forgotten only after capacity changes without a move, so one used at
 * least once per capacity / 2 changes never is. The order is least recently *moved*:
 * approximately least recently used, exactly so below a capacity of 4.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private clock = 0;
  private readonly freshFor: number;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new Error(`LRU capacity must be a positive integer, got ${capacity}`);
    this.freshFor = Math.floor(capacity / 4);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock - entry.movedAt > this.freshFor) {
      this.entries.delete(key);
      entry.movedAt = ++this.clock;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, movedAt: ++this.clock });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Entries from least to most recently moved (see above); reading them does not move them. */
  *[Symbol.iterator](): IterableIterator<[K, V]> {
    for (const [key, entry] of this.entries) yield [key, entry.value];
  }
}
