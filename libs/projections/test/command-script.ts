// Random histories of domain commands. A step names its targets by index ("the 3rd assistant
// message"), resolved against the state when it runs, so any script is playable: a step the
// domain refuses (ConversationError) appends nothing and the script goes on.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  ConversationCommand,
  ConversationState,
  ERROR_TYPES,
  HARM_CATEGORIES,
  INITIATORS,
  lineagePath,
  RATINGS,
  V1_REASON_CODES,
  REVIEW_OUTCOMES,
  RISK_KINDS,
  RISK_SOURCES,
} from '@app/conversation';
import type { ConversationDriver } from './conversation-driver';

/** 'leaf' is the active leaf; a number picks among the candidates (modulo their count). */
type Target = 'leaf' | number;

export type Step =
  | { kind: 'message'; role: 'user' | 'assistant'; parent: Target | null }
  | { kind: 'redirect' | 'warn'; target: number; harm: (typeof HARM_CATEGORIES)[number] }
  | { kind: 'requestEnd'; target: number }
  | {
      kind: 'end';
      initiator: (typeof INITIATORS)[number];
      reasonCode: (typeof V1_REASON_CODES)[number];
      at: Target;
      explanation: boolean;
      modelId: string | null;
    }
  | { kind: 'flag'; riskKind: (typeof RISK_KINDS)[number]; source: (typeof RISK_SOURCES)[number] }
  | { kind: 'clear'; target: number }
  | {
      kind: 'review';
      target: number;
      outcome: (typeof REVIEW_OUTCOMES)[number];
      newReasonCode: (typeof V1_REASON_CODES)[number];
      errorType: (typeof ERROR_TYPES)[number] | null;
    }
  | { kind: 'feedback'; target: number | null; rating: (typeof RATINGS)[number] };

export const MODELS = ['claude-opus-4-1', 'claude-opus-4', 'claude-sonnet-4'] as const;

const index = fc.nat({ max: 50 });
const target: fc.Arbitrary<Target> = fc.oneof(
  { arbitrary: fc.constant('leaf' as const), weight: 3 },
  { arbitrary: index, weight: 1 },
);
const many = <T extends string>(list: readonly T[]) => fc.constantFrom(...list);

export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('message' as const),
      role: many(['user', 'assistant'] as const),
      parent: fc.oneof({ arbitrary: target, weight: 9 }, { arbitrary: fc.constant(null), weight: 1 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('redirect' as const), target: index, harm: many(HARM_CATEGORIES) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('warn' as const), target: index, harm: many(HARM_CATEGORIES) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('requestEnd' as const), target: index }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('end' as const),
      initiator: many(INITIATORS),
      reasonCode: many(V1_REASON_CODES),
      at: target,
      explanation: fc.boolean(),
      modelId: fc.option(many([...MODELS, 'claude-haiku-3-5'])),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('flag' as const),
      riskKind: many(RISK_KINDS),
      source: many(RISK_SOURCES),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), target: index }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('review' as const),
      target: index,
      outcome: many(REVIEW_OUTCOMES),
      newReasonCode: many(V1_REASON_CODES),
      errorType: fc.option(many(ERROR_TYPES)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('feedback' as const), target: fc.option(index), rating: many(RATINGS) }),
  },
);

export const scriptArbitrary = fc.record({
  modelId: many(MODELS),
  steps: fc.array(stepArbitrary, { minLength: 5, maxLength: 40, size: 'max' }),
});

const pick = <T>(list: readonly T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);

/** Candidates near the active leaf first: its lineage (newest first), then every other one. */
function nearLeaf(state: ConversationState, accept: (id: string) => boolean): string[] {
  const lineage = state.activeLeafMessageId ? lineagePath(state, state.activeLeafMessageId).reverse() : [];
  const rest = state.messageOrder.filter((id) => !lineage.includes(id));
  return [...lineage, ...rest].filter(accept);
}

/** The command a step stands for in this state (an unknown id when nothing fits). */
export function commandOf(step: Step, state: ConversationState): ConversationCommand {
  const role = (r: string) => (id: string) => state.messages[id]?.role === r;
  const message = (t: Target) =>
    (t === 'leaf' ? state.activeLeafMessageId : pick(state.messageOrder, t)) ?? randomUUID();
  switch (step.kind) {
    case 'message': {
      // The first message is a root whatever the step says.
      const parentMessageId = step.parent === null || state.messageOrder.length === 0 ? null : message(step.parent);
      const model = step.role === 'assistant' ? { modelId: state.modelId, stopReason: 'end_turn' as const } : {};
      return {
        type: 'AppendMessage',
        data: { messageId: randomUUID(), parentMessageId, role: step.role, content: `${step.role} text`, ...model },
      };
    }
    case 'redirect':
      return {
        type: 'RecordRedirection',
        data: {
          messageId: pick(nearLeaf(state, role('assistant')), step.target) ?? randomUUID(),
          harmCategory: step.harm,
        },
      };
    case 'warn':
      return {
        type: 'IssueWarning',
        data: {
          messageId: pick(nearLeaf(state, role('assistant')), step.target) ?? randomUUID(),
          reasonCode: step.harm,
        },
      };
    case 'requestEnd':
      return {
        type: 'RequestEnd',
        data: { messageId: pick(nearLeaf(state, role('user')), step.target) ?? randomUUID() },
      };
    case 'end':
      return {
        type: 'EndConversation',
        data: {
          initiator: step.initiator,
          reasonCode: step.reasonCode,
          atMessageId: message(step.at),
          ...(step.explanation && { explanation: 'persistent abuse after redirection' }),
          ...(step.modelId !== null && { modelId: step.modelId }),
        },
      };
    case 'flag':
      return {
        type: 'FlagSafetyRisk',
        data: { flagId: randomUUID(), kind: step.riskKind, source: step.source, score: 0.9 },
      };
    case 'clear':
      return {
        type: 'ClearSafetyRisk',
        data: { flagId: pick(Object.keys(state.openRiskFlags).sort(), step.target) ?? randomUUID() },
      };
    case 'review':
      return {
        type: 'ReviewEndDecision',
        data: {
          reviewId: randomUUID(),
          reviewerId: `auditor-${step.target % 3}`,
          endEventId: pick(state.ends, step.target)?.endEventId ?? randomUUID(),
          outcome: step.outcome,
          ...(step.outcome === 'reclassified' && { newReasonCode: step.newReasonCode }),
          ...(step.errorType !== null && { errorType: step.errorType }),
        },
      };
    case 'feedback':
      return {
        type: 'SubmitFeedback',
        data: { rating: step.rating, ...(step.target !== null && { messageId: message(step.target) }) },
      };
  }
}

/** Starts the conversation and plays every step; returns how many the domain accepted. */
export async function play(driver: ConversationDriver, steps: readonly Step[]): Promise<number> {
  await driver.start();
  let accepted = 0;
  for (const step of steps) {
    if (await driver.tryRun(commandOf(step, driver.state))) accepted++;
  }
  return accepted;
}
