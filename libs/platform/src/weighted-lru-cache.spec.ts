import { WeightedLruCache } from './weighted-lru-cache';

describe(WeightedLruCache.name, () => {
  const byLength = (max: number) => new WeightedLruCache<string, string>(max, (v) => v.length);

  it('forgets the least recently used entries once the weight held passes its bound', () => {
    const cache = byLength(6);
    cache.set('a', 'xx');
    cache.set('b', 'xx');
    cache.set('c', 'xx');
    expect(cache.get('a')).toBe('xx'); // now the most recent
    cache.set('d', 'x');
    expect([cache.peek('a'), cache.peek('b'), cache.peek('c'), cache.peek('d')]).toEqual(['xx', undefined, 'xx', 'x']);
    expect([cache.weight, cache.size]).toEqual([5, 3]);
  });

  it('weighs a value when it is set, keeps none heavier than its bound, and peeks without moving it', () => {
    const cache = byLength(4);
    cache.set('a', 'x');
    cache.set('b', 'y');
    expect(cache.peek('a')).toBe('x');
    cache.set('a', 'xxxx'); // set again, heavier: b must go
    expect([cache.peek('a'), cache.peek('b'), cache.weight]).toEqual(['xxxx', undefined, 4]);
    cache.set('c', 'zzzzz');
    expect([cache.peek('c'), cache.peek('a'), cache.weight]).toEqual([undefined, 'xxxx', 4]);
  });

  it('empties on clear and drops one entry on delete', () => {
    const cache = byLength(10);
    cache.set('a', 'x');
    cache.set('b', 'yy');
    cache.delete('a');
    expect([cache.peek('a'), cache.weight]).toEqual([undefined, 2]);
    cache.clear();
    expect([cache.size, cache.weight, cache.get('b')]).toEqual([0, 0, undefined]);
  });
});
