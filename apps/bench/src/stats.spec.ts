import { median, medianOrNull, percentile } from './stats';

describe('bench statistics', () => {
  it('given an odd or even count, when the median is taken, then it is the middle value or the mean of the two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('given no values, when a figure is made, then it is null, else rounded', () => {
    expect(medianOrNull([], 2)).toBeNull();
    expect(medianOrNull([0.123, 0.456, 0.789], 2)).toBe(0.46);
  });

  it('given sorted samples, when a percentile is asked, then it is the nearest rank', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.99)).toBe(0);
  });
});
