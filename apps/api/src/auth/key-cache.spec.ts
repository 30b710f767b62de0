import type { Principal } from './api-keys';
import { KeyCache } from './key-cache';
import { LruCache } from '@app/platform';

const principal = (keyId: string): Principal => ({
  keyId,
  role: 'writer',
  tenantId: 'acme',
  holder: null,
  expiresAt: null,
});

describe(LruCache.name, () => {
  it('forgets the least recently used entry when full, a read counting as a use', () => {
    const lru = new LruCache<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.size]).toEqual([1, undefined, 3, 2]);
  });

  it('refuses a capacity below one', () => {
    expect(() => new LruCache(0)).toThrow('positive integer');
  });
});

describe(KeyCache.name, () => {
  it('keeps known keys when a flood of unknown keys overflows the unknown cache', () => {
    const cache = new KeyCache(100);
    for (let i = 0; i < 100; i++) cache.rememberKnown(`real-${i}`, principal(`k-${i}`), 0);
    for (let i = 0; i < 100_000; i++) cache.rememberUnknown(`bogus-${i}`, 60_000);
    expect(cache.sizes).toEqual({ known: 100, unknown: 100 });
    for (let i = 0; i < 100; i++) expect(cache.knownEntry(`real-${i}`)?.principal.keyId).toBe(`k-${i}`);
    expect(cache.isUnknown('bogus-99999', 1)).toBe(true);
    expect(cache.isUnknown('bogus-0', 1)).toBe(false);
  });

  it('forgets an unknown key once its time is up', () => {
    const cache = new KeyCache(10);
    cache.rememberUnknown('h', 1_000);
    expect(cache.isUnknown('h', 999)).toBe(true);
    expect(cache.isUnknown('h', 1_000)).toBe(false);
  });

  it('drops every entry of a revoked key, and a key remembered as known is no longer unknown', () => {
    const cache = new KeyCache(10);
    cache.rememberUnknown('h1', 1_000);
    cache.rememberKnown('h1', principal('k-1'), 0);
    cache.rememberKnown('h2', principal('k-2'), 0);
    expect(cache.isUnknown('h1', 0)).toBe(false);
    cache.forgetKey('k-1');
    expect([cache.knownEntry('h1'), cache.knownEntry('h2')?.principal.keyId]).toEqual([undefined, 'k-2']);
  });
});
