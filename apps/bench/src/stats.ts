/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The median rounded to `digits`, or null for no values (a figure /proc could not give). */
export const medianOrNull = (values: readonly number[], digits: number): number | null =>
  values.length ? Number(median(values).toFixed(digits)) : null;

/** The nearest-rank percentile `p` (0–1) of values sorted ascending; 0 for none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];
}

/** (to − from) / n: a counter's growth per unit (CPU ms per message, say); null without a reading or with n = 0. */
export const perUnit = (from: number | null, to: number | null, n: number): number | null =>
  from === null || to === null || n === 0 ? null : (to - from) / n;
