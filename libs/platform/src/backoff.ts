/** How often, and after how long, work refused by a race (a version conflict) is tried again. */
export interface RetryPolicy {
  /** Attempts in all, the first included; then the refusal stands. */
  attempts: number;
  /** The first wait's ceiling; each next one doubles, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** [0, 1): the jitter. */
  random(): number;
}

/**
 * The wait before attempt `attempt + 1`: between half and all of an exponential ceiling, so that
 * writers that collided once spread apart instead of colliding again in step.
 */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + (policy.random() * ceiling) / 2;
}
