import type { RetryPolicy } from '@app/platform';

// The mechanism is @app/platform's (erasures retry with it too); commands' policy is here.
export { backoffMs, type RetryPolicy } from '@app/platform';

/**
 * About 5 s of waits in all before 409. A process that keeps appending to a conversation from
 * its cache wins every race against one that must reload after a conflict, until its queue for
 * that conversation runs dry (at most COMMAND_QUEUE_PER_CONVERSATION commands): the budget has
 * to outlast that, not just a collision or two.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 40, baseDelayMs: 2, maxDelayMs: 200, random: Math.random };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
