import { addressBucketName } from './client-address';
import { TokenBuckets } from './token-buckets';

describe(TokenBuckets.name, () => {
  let now = 0;
  const buckets = (rate: number, burst: number, max?: number) => new TokenBuckets(rate, burst, max, () => now);
  beforeEach(() => (now = 1_000_000));

  it('allows a burst, then refuses with the whole seconds until a token is back', () => {
    const b = buckets(2, 3);
    expect([b.take('k'), b.take('k'), b.take('k')]).toEqual([null, null, null]);
    expect(b.take('k')).toEqual({ retryAfterSeconds: 1 });
    now += 500;
    expect(b.take('k')).toBeNull();
    expect(b.take('k')).toEqual({ retryAfterSeconds: 1 });
  });

  it('refuses a cost it cannot cover without taking anything, and rounds Retry-After up', () => {
    const b = buckets(1, 5);
    expect(b.take('k', 5)).toBeNull();
    now += 1_500;
    expect(b.take('k', 4)).toEqual({ retryAfterSeconds: 3 });
    now += 2_500;
    expect(b.take('k', 4)).toBeNull();
  });

  it('keeps one bucket per name', () => {
    const b = buckets(1, 1);
    expect(b.take('a')).toBeNull();
    expect(b.take('b')).toBeNull();
    expect(b.take('a')).not.toBeNull();
  });

  it('charges a penalty into debt, at most one burst deep', () => {
    const b = buckets(10, 10);
    b.charge('k', 1_000);
    expect(b.take('k')).toEqual({ retryAfterSeconds: 2 });
    now += 2_000;
    expect(b.take('k')).toBeNull();
  });

  it('holds at most maxBuckets, dropping the least recently used', () => {
    const b = buckets(1, 1, 3);
    for (const name of ['a', 'b', 'c']) b.take(name);
    b.take('a');
    b.take('d');
    expect(b.size).toBe(3);
    // 'b' was dropped, so it starts full again; 'a' was kept, so it is still empty.
    expect(b.take('b')).toBeNull();
    expect(b.take('a')).not.toBeNull();
  });
});

describe(addressBucketName.name, () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:0:1:aaaa:bbbb:cccc:dddd', '2001:db8:0:1::/64'],
    ['2001:DB8:0:1::42', '2001:db8:0:1::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('names %s as %s', (ip, name) => {
    expect(addressBucketName(ip)).toBe(name);
  });
});
