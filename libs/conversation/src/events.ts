import type { GuardCode } from './guard-codes';
import type { HarmCategory, ReasonCode } from './reason-codes';
import type {
  ErrorType,
  Initiator,
  MessageRole,
  Rating,
  ReviewOutcome,
  RiskKind,
  RiskSource,
  StopReason,
} from './vocabulary';

// Stored event types and field names of DOMAIN.md: never renamed once stored. Optional fields
// are omitted, never `undefined`, because events are JSON.

type Event<Type extends string, Data> = { readonly type: Type; readonly data: Data };

export interface ForkOrigin {
  readonly conversationId: string;
  readonly messageId: string;
}

export type ConversationStarted = Event<
  'ConversationStarted',
  {
    conversationId: string;
    tenantId: string;
    subjectId: string;
    modelId: string;
    channel?: string;
    forkedFrom?: ForkOrigin;
  }
>;

export type MessageAppended = Event<
  'MessageAppended',
  {
    messageId: string;
    parentMessageId: string | null;
    role: MessageRole;
    content: string;
    modelId?: string;
    stopReason?: StopReason;
  }
>;

export type RedirectionAttempted = Event<'RedirectionAttempted', { messageId: string; harmCategory: HarmCategory }>;

export type WarningIssued = Event<'WarningIssued', { messageId: string; reasonCode: HarmCategory }>;

export type SafetyRiskFlagged = Event<
  'SafetyRiskFlagged',
  { flagId: string; kind: RiskKind; source: RiskSource; score?: number }
>;

export type SafetyRiskCleared = Event<'SafetyRiskCleared', { flagId: string; note?: string }>;

export type EndRequestedByUser = Event<'EndRequestedByUser', { messageId: string }>;

export type ConversationEnded = Event<
  'ConversationEnded',
  {
    endedAtMessageId: string;
    initiator: Initiator;
    reasonCode: ReasonCode;
    explanation?: string;
    evidenceMessageIds: string[];
    redirectionCount: number;
    modelId?: string;
    policyVersion: number;
    automatedDetection: boolean;
    automatedDecision: boolean;
  }
>;

export type EndAttemptBlocked = Event<
  'EndAttemptBlocked',
  {
    initiator: Initiator;
    proposedReasonCode: ReasonCode;
    failedGuards: GuardCode[];
    atMessageId: string;
    policyVersion: number;
    /** Added beside DOMAIN's key fields: auditors query blocked attempts by model. */
    modelId?: string;
  }
>;

export type FeedbackSubmitted = Event<'FeedbackSubmitted', { messageId?: string; rating: Rating; comment?: string }>;

export type EndDecisionReviewed = Event<
  'EndDecisionReviewed',
  {
    reviewId: string;
    reviewerId: string;
    endEventId: string;
    outcome: ReviewOutcome;
    newReasonCode?: ReasonCode;
    errorType?: ErrorType;
    note?: string;
  }
>;

/**
 * The conversation's content keys were destroyed (crypto-shredding): its sealed text (messages,
 * explanations, notes, comments) reads as erased from here on. Who, when and why; no content.
 * Everything else the stream records (ends, reasons, guards, reviews) stays as it was.
 */
export type ContentErased = Event<
  'ContentErased',
  {
    erasureId: string;
    scope: ErasureScope;
    reason: string;
    actor: { type: 'operator' | 'system'; id: string };
    /** The content keys destroyed (none when the conversation had no encrypted content). */
    keyIds: string[];
    /** Sealed fields of this conversation stored before encryption existed: not erasable by key destruction. */
    plaintextFields: number;
  }
>;

export type ErasureScope = 'subject' | 'retention';

export type DomainEvent =
  | ConversationStarted
  | MessageAppended
  | RedirectionAttempted
  | WarningIssued
  | SafetyRiskFlagged
  | SafetyRiskCleared
  | EndRequestedByUser
  | ConversationEnded
  | EndAttemptBlocked
  | FeedbackSubmitted
  | EndDecisionReviewed
  | ContentErased;

export type DomainEventType = DomainEvent['type'];

export const DOMAIN_EVENT_TYPES = [
  'ConversationStarted',
  'MessageAppended',
  'RedirectionAttempted',
  'WarningIssued',
  'SafetyRiskFlagged',
  'SafetyRiskCleared',
  'EndRequestedByUser',
  'ConversationEnded',
  'EndAttemptBlocked',
  'FeedbackSubmitted',
  'EndDecisionReviewed',
  'ContentErased',
] as const satisfies readonly DomainEventType[];
// Fails to compile when an event type is missing from the list above.
const everyEventTypeListed: [Exclude<DomainEventType, (typeof DOMAIN_EVENT_TYPES)[number]>] extends [never]
  ? true
  : false = true;
void everyEventTypeListed;

/** A stream event read back from the store: what `evolve` folds. */
export type RecordedConversationEvent = DomainEvent & {
  readonly eventId: string;
  /** Position in the conversation's stream, 1 for ConversationStarted. */
  readonly version: number;
  /** ISO time the caller says it happened. */
  readonly occurredAt: string;
};
