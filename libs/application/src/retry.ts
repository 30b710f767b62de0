/** How often, and after how long, a command is decided again after another writer moved its stream. */
export interface RetryPolicy {
  /** Attempts in all, the first included; then 409 VERSION_CONFLICT. */
  attempts: number;
  /** The first wait's ceiling; each next one doubles, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** [0, 1): the jitter. */
  random(): number;
}

/**
 * About 5 s of waits in all before 409. A process that keeps appending to a conversation from
 * its cache wins every race against one that must reload after a conflict, until its queue for
 * that conversation runs dry (at most COMMAND_QUEUE_PER_CONVERSATION commands): the budget has
 * to outlast that, not just a collision or two.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 40, baseDelayMs: 2, maxDelayMs: 200, random: Math.random };

/**
 * The wait before attempt `attempt + 1`: between half and all of an exponential ceiling, so that
 * writers that collided once spread apart instead of colliding again in step.
 */
export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + (policy.random() * ceiling) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
