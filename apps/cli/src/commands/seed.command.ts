import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { Caller, conversationCommandDeps, ConversationCommandDeps, handleConversationCommand } from '@app/application';
import { POLICY_V1, streamIdOf } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import { UsageError } from '../args';
import { Progress } from '../progress';
import { ConversationPlan, PlannedCommand, planConversation, PlanOptions } from '../seed/conversation-plan';

export interface SeedOptions extends PlanOptions {
  events: number;
  /** Appends in flight (one conversation each). */
  concurrency: number;
}

export interface SeedResult {
  events: number;
  conversations: number;
  /** Events by type. */
  types: Record<string, number>;
}

function integerFlag(flags: Record<string, string | true>, name: string, fallback: number | undefined, min: number, max: number): number {
  const raw = flags[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

export function parseSeedFlags(flags: Record<string, string | true>): SeedOptions {
  const from = typeof flags.from === 'string' ? Date.parse(flags.from) : Date.parse('2025-09-01T00:00:00Z');
  if (Number.isNaN(from)) throw new UsageError('--from must be an ISO date, e.g. 2025-09-01');
  return {
    events: integerFlag(flags, 'events', undefined, 1, 100_000_000),
    tenants: integerFlag(flags, 'tenants', 3, 1, 1000),
    seed: integerFlag(flags, 'seed', 42, 0, 2 ** 31 - 1),
    days: integerFlag(flags, 'days', 28, 1, 3650),
    concurrency: integerFlag(flags, 'concurrency', 16, 1, 256),
    from,
  };
}

/**
 * The key a step is sent under: staff steps under their own (so reviews pass separation of
 * duties), the rest under the seed's writer key.
 */
const callerOf = (step: PlannedCommand, tenantId: string): Caller =>
  step.actor.type === 'operator' || step.actor.type === 'auditor'
    ? { keyId: step.actor.id, role: step.actor.type, tenantId, holder: null }
    : { keyId: 'seed-writer', role: 'writer', tenantId, holder: null };

/**
 * Writes seeded conversations the way the API does, through handleConversationCommand: each
 * command decided on the folded state and appended at its version, with its idempotency key,
 * at the plan's time and event id. Exactly `events` events; the same data for the same seed
 * and options.
 */
export async function seedConversations(pool: Pool, options: SeedOptions, onEvent: () => void = () => undefined): Promise<SeedResult> {
  const store = new PostgresEventStore(pool);
  if ((await store.streamVersion(streamIdOf(planConversation(0, options).conversationId))) > 0) {
    throw new UsageError(`seed ${options.seed} was already written to this database: use another --seed`);
  }
  const limits = { maxEvents: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };
  const snapshots = new PostgresSnapshotStore(pool);
  const deps = conversationCommandDeps({ store, snapshots, policy: () => POLICY_V1, limits });
  let planned = 0;
  let next = 0;
  const types: Record<string, number> = {};
  // Sessions plan the store's statements against the tables as they were: planned on an empty
  // log, they scan it whole on every append. Fresh statistics as the log doubles (autovacuum
  // may be off, and lags behind a bulk load anyway) make them re-plan.
  let written = 0;
  let analyzeAt = 1000;
  // Plans are drawn in index order, whichever worker asks: the data never depends on timing.
  const nextPlan = (): ConversationPlan | null => {
    if (planned >= options.events) return null;
    const plan = planConversation(next++, options);
    plan.steps = plan.steps.slice(0, options.events - planned);
    planned += plan.steps.length;
    return plan;
  };

  const write = async (plan: ConversationPlan): Promise<void> => {
    for (const step of plan.steps) {
      // This step's time and event id: the plan's, so that the data never depends on timing.
      const clock = () => new Date(step.occurredAt);
      const stepDeps: ConversationCommandDeps = { ...deps, clock, newEventId: () => step.eventId };
      const requestHash = createHash('sha256').update(JSON.stringify(step.command)).digest('hex');
      const { events } = await handleConversationCommand(stepDeps, {
        conversationId: plan.conversationId,
        command: step.command,
        context: {
          principal: callerOf(step, plan.tenantId),
          origin: 'caller',
          idempotency: { key: step.commandId, requestHash },
          correlationId: step.commandId,
        },
      });
      if (events.length !== 1) {
        throw new Error(`seed plan ${plan.conversationId}: ${step.command.type} did not decide one event`);
      }
      types[events[0].type] = (types[events[0].type] ?? 0) + 1;
      onEvent();
      if (++written >= analyzeAt) {
        analyzeAt *= 2;
        await pool.query('ANALYZE');
      }
    }
  };

  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        for (let plan = nextPlan(); plan; plan = nextPlan()) await write(plan);
      }),
    );
  } finally {
    await deps.states.flush();
    await store.close();
  }
  return { events: planned, conversations: next, types };
}

/** `seed --events <n> [--tenants 3] [--seed 42] [--from 2025-09-01] [--days 28] [--concurrency 16]`. */
export async function seed(pool: Pool, flags: Record<string, string | true>): Promise<void> {
  const options = parseSeedFlags(flags);
  const progress = new Progress('seeding events', options.events);
  const started = Date.now();
  const result = await seedConversations(pool, options, () => progress.tick());
  progress.done();
  const seconds = (Date.now() - started) / 1000;
  const t = result.types;
  console.log(
    `seeded ${result.events} events in ${result.conversations} conversations (seed ${options.seed}) in ${seconds.toFixed(1)} s, ` +
      `${Math.round(result.events / seconds)} events/s: ${t.ConversationEnded ?? 0} ends, ${t.EndAttemptBlocked ?? 0} blocked attempts, ` +
      `${t.EndDecisionReviewed ?? 0} reviews, ${t.RedirectionAttempted ?? 0} redirections`,
  );
}
