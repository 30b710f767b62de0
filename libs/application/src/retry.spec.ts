import { backoffMs, DEFAULT_RETRY } from './retry';

describe(backoffMs.name, () => {
  const policy = (r: number) => ({ ...DEFAULT_RETRY, baseDelayMs: 4, maxDelayMs: 100, random: () => r });

  it('waits between half and all of a ceiling that doubles per attempt', () => {
    expect([1, 2, 3].map((a) => [backoffMs(a, policy(0)), backoffMs(a, policy(0.999999))])).toEqual([
      [2, expect.closeTo(4, 3)],
      [4, expect.closeTo(8, 3)],
      [8, expect.closeTo(16, 3)],
    ]);
  });

  it('never waits longer than the maximum', () => {
    expect(backoffMs(30, policy(0.999999))).toBeLessThanOrEqual(100);
    expect(backoffMs(30, policy(0))).toBe(50);
  });
});
