import { LruCache } from './lru-cache';

const keysOf = <K, V>(cache: LruCache<K, V>) => [...cache].map(([k]) => k);

describe(LruCache.name, () => {
  it('given a full cache, when one more is set, then the least recently used entry is forgotten', () => {
    const cache = new LruCache<string, number>(3);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    cache.set('d', 4);
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(keysOf(cache)).toEqual(['b', 'c', 'd']);
  });

  it('given an entry older than capacity / 4 changes, when read, then it moves to the most recent end', () => {
    const cache = new LruCache<string, number>(4);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) cache.set(k, i);
    expect(cache.get('a')).toBe(0); // 3 changes since it was set: more than 4 / 4
    cache.set('e', 4);
    expect(keysOf(cache)).toEqual(['c', 'd', 'a', 'e']);
    expect(cache.get('b')).toBeUndefined();
  });

  it('given an entry moved within the last capacity / 4 changes, when read, then the order stays', () => {
    const cache = new LruCache<string, number>(8);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) cache.set(k, i);
    expect(cache.get('d')).toBe(3);
    expect(cache.get('c')).toBe(2); // 1 change since: not more than 8 / 4
    expect(keysOf(cache)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('given an entry read once per capacity / 2 changes, when others come and go, then it is never forgotten', () => {
    const cache = new LruCache<string, number>(10);
    cache.set('hot', -1);
    for (let i = 0; i < 1_000; i++) {
      cache.set(`k${i}`, i);
      if (i % 5 === 0) expect(cache.get('hot')).toBe(-1);
    }
    expect(cache.size).toBe(10);
    expect(cache.get('hot')).toBe(-1);
  });

  it('given a set of a key it holds, when set again, then the value is replaced and moved, not duplicated', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 3);
    cache.set('c', 4);
    expect(keysOf(cache)).toEqual(['a', 'c']);
    expect(cache.get('a')).toBe(3);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new LruCache(0)).toThrow(/positive integer/);
    expect(() => new LruCache(1.5)).toThrow(/positive integer/);
  });
});
