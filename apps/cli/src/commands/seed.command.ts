import { Pool } from 'pg';
import { SeedAlreadyWritten, seedConversations, SeedOptions } from '@app/application';
import type { ContentSealer } from '@app/privacy';
import { UsageError } from '../args';
import { Progress } from '../progress';

function integerFlag(
  flags: Record<string, string | true>,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number {
  const raw = flags[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

/** `seed` alone writes this many events: enough for every chart and list of the console. */
export const DEFAULT_SEED_EVENTS = 30_000;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Without --from, the seeded days end now: the console opens on the last days, so a fresh `seed`
 * shows in it at once (and nothing is dated in the future).
 */
export function parseSeedFlags(flags: Record<string, string | true>, now = Date.now()): SeedOptions {
  const days = integerFlag(flags, 'days', 28, 1, 3650);
  const from =
    typeof flags.from === 'string' ? Date.parse(flags.from) : Math.floor((now - days * DAY_MS) / 60_000) * 60_000;
  if (Number.isNaN(from)) throw new UsageError('--from must be an ISO date, e.g. 2025-09-01');
  return {
    events: integerFlag(flags, 'events', DEFAULT_SEED_EVENTS, 1, 100_000_000),
    tenants: integerFlag(flags, 'tenants', 3, 1, 1000),
    seed: integerFlag(flags, 'seed', 42, 0, 2 ** 31 - 1),
    days,
    concurrency: integerFlag(flags, 'concurrency', 16, 1, 256),
    from,
  };
}

/** `seed [--events 30000] [--tenants 3] [--seed 42] [--from <28 days ago>] [--days 28] [--concurrency 16]`. */
export async function seed(pool: Pool, flags: Record<string, string | true>, content: ContentSealer): Promise<void> {
  const options = parseSeedFlags(flags);
  const progress = new Progress('seeding events', options.events);
  const started = Date.now();
  const result = await seedConversations(pool, content, options, () => progress.tick()).catch((err: unknown) => {
    throw err instanceof SeedAlreadyWritten ? new UsageError(err.message) : err;
  });
  progress.done();
  const seconds = (Date.now() - started) / 1000;
  const t = result.types;
  console.log(
    `seeded ${result.events} events in ${result.conversations} conversations (seed ${options.seed}) ` +
      `in ${seconds.toFixed(1)} s, ` +
      `${Math.round(result.events / seconds)} events/s: ` +
      `${t.ConversationEnded ?? 0} ends, ${t.EndAttemptBlocked ?? 0} blocked attempts, ` +
      `${t.EndDecisionReviewed ?? 0} reviews, ${t.RedirectionAttempted ?? 0} redirections`,
  );
}
