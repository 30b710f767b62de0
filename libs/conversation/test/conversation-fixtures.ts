// Fixed ids, times and event builders for the conversation unit tests.
import { DeciderSpecification } from '../../testing/src/specification';
import {
  type ConversationCommand,
  type ConversationEnded,
  type ConversationState,
  type DomainEvent,
  type EndConversationData,
  type EndAttemptBlocked,
  type EndDecisionReviewed,
  type GuardCode,
  type HarmCategory,
  type Initiator,
  type Policy,
  POLICY_V1,
  parsePolicy,
  type RecordedConversationEvent,
  type RiskKind,
  decide,
  evolve,
  foldEvents,
  initialState,
} from '../src';

export const CONVERSATION_ID = 'conv-1';
export const TENANT_ID = 'tenant-a';
export const SUBJECT_ID = 'subject-1';
export const END_CAPABLE_MODEL = 'claude-opus-4-1';
export const OTHER_MODEL = 'claude-haiku-3';
export const T0 = '2025-09-01T10:00:00.000Z';

/** The time of the event at `version` (one minute apart, version 1 at T0). */
export const at = (version: number): string => new Date(Date.parse(T0) + (version - 1) * 60_000).toISOString();

/** Stored events: eventId `evt-<version>`, versions from 1, a minute apart. */
export const history = (...events: DomainEvent[]): RecordedConversationEvent[] =>
  events.map((event, index) => ({
    ...event,
    eventId: `evt-${index + 1}`,
    version: index + 1,
    occurredAt: at(index + 1),
  }));

export const stateOf = (...events: DomainEvent[]): ConversationState => foldEvents(history(...events));

/** A row of a policy file's reason-code table. */
export const codeRule = (code: string, initiators: Initiator[] = ['model', 'operator'], explanation = false) => ({
  code,
  meaning: `meaning of ${code}`,
  initiators,
  explanationRequired: explanation,
});

/** Version 1's rules under another version number, its reason-code table changed as a policy file would. */
export const policyVersion = (version: number, reasonCodes: (table: object[]) => object[]): Policy => {
  const file = { ...POLICY_V1, version, reasonCodes: reasonCodes([...POLICY_V1.reasonCodes]) };
  return parsePolicy(JSON.parse(JSON.stringify(file)));
};

export const specification = (policy: Policy = POLICY_V1) =>
  DeciderSpecification.for<ConversationCommand, DomainEvent, ConversationState, RecordedConversationEvent>({
    decide: (command, state) => decide(command, state, policy),
    evolve,
    initialState,
  });

export const started = (modelId = END_CAPABLE_MODEL): DomainEvent => ({
  type: 'ConversationStarted',
  data: { conversationId: CONVERSATION_ID, tenantId: TENANT_ID, subjectId: SUBJECT_ID, modelId },
});

export const user = (
  messageId: string,
  parentMessageId: string | null,
  content = `user says ${messageId}`,
): DomainEvent => ({
  type: 'MessageAppended',
  data: { messageId, parentMessageId, role: 'user', content },
});

export const assistant = (messageId: string, parentMessageId: string | null): DomainEvent => ({
  type: 'MessageAppended',
  data: {
    messageId,
    parentMessageId,
    role: 'assistant',
    content: `assistant says ${messageId}`,
    modelId: END_CAPABLE_MODEL,
    stopReason: 'end_turn',
  },
});

export const redirected = (messageId: string, harmCategory: HarmCategory = 'ABUSE_OF_ASSISTANT'): DomainEvent => ({
  type: 'RedirectionAttempted',
  data: { messageId, harmCategory },
});

export const warned = (messageId: string, reasonCode: HarmCategory = 'ABUSE_OF_ASSISTANT'): DomainEvent => ({
  type: 'WarningIssued',
  data: { messageId, reasonCode },
});

export const endRequested = (messageId: string): DomainEvent => ({ type: 'EndRequestedByUser', data: { messageId } });

export const flagged = (flagId: string, kind: RiskKind = 'self_harm'): DomainEvent => ({
  type: 'SafetyRiskFlagged',
  data: { flagId, kind, source: 'classifier', score: 0.91 },
});

export const cleared = (flagId: string): DomainEvent => ({ type: 'SafetyRiskCleared', data: { flagId } });

/** A model end that passed under policy 1. */
export const ended = (
  endedAtMessageId: string,
  overrides: Partial<ConversationEnded['data']> = {},
): ConversationEnded => ({
  type: 'ConversationEnded',
  data: {
    endedAtMessageId,
    initiator: 'model',
    reasonCode: 'ABUSE_OF_ASSISTANT',
    evidenceMessageIds: [],
    redirectionCount: 2,
    modelId: END_CAPABLE_MODEL,
    policyVersion: 1,
    automatedDetection: true,
    automatedDecision: true,
    ...overrides,
  },
});

export const reviewed = (
  endEventId: string,
  outcome: EndDecisionReviewed['data']['outcome'],
  reviewId = `review-${outcome}`,
  extra: Partial<EndDecisionReviewed['data']> = {},
): EndDecisionReviewed => ({
  type: 'EndDecisionReviewed',
  data: { reviewId, reviewerId: 'auditor-1', endEventId, outcome, ...extra },
});

/**
 * An abusive thread: u1 → a1 → u2 → a2 → u3 → a3 → u4, the model redirecting at a1 and a2.
 * Events: 1 started, 2..8 messages, 9 and 10 redirections.
 */
export const abusiveThread = (): DomainEvent[] => [
  started(),
  user('u1', null),
  assistant('a1', 'u1'),
  user('u2', 'a1'),
  assistant('a2', 'u2'),
  user('u3', 'a2'),
  assistant('a3', 'u3'),
  user('u4', 'a3'),
  redirected('a1'),
  redirected('a2'),
];

export const endCommand = (data: Partial<EndConversationData> = {}): ConversationCommand => ({
  type: 'EndConversation',
  data: { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: 'u4', ...data },
});

/** The blocked model end at u4 under policy 1, with the guards given. */
export const blocked = (
  failedGuards: GuardCode[],
  overrides: Partial<EndAttemptBlocked['data']> = {},
): EndAttemptBlocked => ({
  type: 'EndAttemptBlocked',
  data: {
    initiator: 'model',
    proposedReasonCode: 'ABUSE_OF_ASSISTANT',
    failedGuards,
    atMessageId: 'u4',
    policyVersion: 1,
    modelId: END_CAPABLE_MODEL,
    ...overrides,
  },
});
