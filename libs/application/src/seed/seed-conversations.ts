import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { POLICY_V1, streamIdOf } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import type { ContentSealer } from '@app/privacy';
import type { Caller } from '../command-context';
import { conversationCommandDeps } from '../command-deps';
import { type ConversationCommandDeps, handleConversationCommand } from '../handle-conversation-command';
import { type ConversationPlan, type PlannedCommand, planConversation, type PlanOptions } from './conversation-plan';

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

/** This seed's first conversation exists: writing it again would only conflict. */
export class SeedAlreadyWritten extends Error {
  constructor(readonly seed: number) {
    super(`seed ${seed} was already written to this database: use another --seed`);
  }
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
 * Writes seeded conversations the way the API does, through handleConversationCommand (sealed
 * through `content`): each
 * command decided on the folded state and appended at its version, with its idempotency key,
 * at the plan's time and event id. Exactly `events` events; the same data (as read: sealed
 * fields are stored under each database's own keys) for the same seed
 * and options.
 */
export async function seedConversations(
  pool: Pool,
  content: ContentSealer,
  options: SeedOptions,
  onEvent: () => void = () => undefined,
): Promise<SeedResult> {
  const store = new PostgresEventStore(pool);
  if ((await store.streamVersion(streamIdOf(planConversation(0, options).conversationId))) > 0) {
    throw new SeedAlreadyWritten(options.seed);
  }
  const limits = { maxEvents: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };
  const snapshots = new PostgresSnapshotStore(pool);
  const deps = conversationCommandDeps({ store, snapshots, policy: () => POLICY_V1, limits, content });
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
