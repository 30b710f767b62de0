import type { ForkOrigin } from './events';
import type { GuardCode } from './guard-codes';
import type { HarmCategory, ReasonCode } from './reason-codes';
import type { ErrorType, Initiator, MessageRole, ReviewOutcome, RiskKind, RiskSource, StopReason } from './vocabulary';

// Plain data, never mutated: `evolve` returns a new state. Facts that belong to a lineage are
// kept with the message they are attached to; lineage.ts answers "which of them lie on the
// path root → X".

export interface MessageNode {
  readonly messageId: string;
  readonly parentMessageId: string | null;
  readonly role: MessageRole;
  /**
   * The text, as the events folded hold it: folded from the events as read, null where the
   * content is erased or does not decrypt; folded from the events as stored, the envelope the
   * log keeps (the commands never read it).
   */
  readonly content: string | null;
  readonly modelId?: string;
  readonly stopReason?: StopReason;
  readonly childIds: readonly string[];
  /** 0-based order of appending within the conversation. */
  readonly index: number;
  /** The event's occurredAt. */
  readonly createdAt: string;
  readonly version: number;
}

export interface RedirectionFact {
  readonly messageId: string;
  readonly harmCategory: HarmCategory;
  readonly version: number;
}

export interface WarningFact {
  readonly messageId: string;
  readonly reasonCode: HarmCategory;
  readonly version: number;
}

export interface EndRequestFact {
  readonly messageId: string;
  readonly version: number;
}

export interface RiskFlag {
  readonly flagId: string;
  readonly kind: RiskKind;
  readonly source: RiskSource;
  readonly score?: number;
  readonly flaggedAt: string;
}

export interface ClearedRiskFlag extends RiskFlag {
  readonly clearedAt: string;
  readonly note?: string;
}

export interface EndReview {
  readonly reviewId: string;
  readonly reviewerId: string;
  readonly endEventId: string;
  readonly outcome: ReviewOutcome;
  readonly newReasonCode?: ReasonCode;
  readonly errorType?: ErrorType;
  readonly note?: string;
  readonly reviewedAt: string;
  readonly version: number;
}

export interface EndFact {
  readonly endEventId: string;
  readonly endedAtMessageId: string;
  readonly initiator: Initiator;
  readonly reasonCode: ReasonCode;
  readonly explanation?: string;
  readonly evidenceMessageIds: readonly string[];
  readonly redirectionCount: number;
  readonly modelId?: string;
  readonly policyVersion: number;
  /** The end event's occurredAt. */
  readonly endedAt: string;
  readonly version: number;
  /** Outcome of the latest review of this end; null until reviewed. */
  readonly reviewOutcome: ReviewOutcome | null;
  /** The reason code of the latest review when it reclassified the end. */
  readonly reclassifiedAs?: ReasonCode;
}

export interface BlockedEndAttempt {
  readonly eventId: string;
  readonly initiator: Initiator;
  readonly proposedReasonCode: ReasonCode;
  readonly failedGuards: readonly GuardCode[];
  readonly atMessageId: string;
  readonly policyVersion: number;
  readonly modelId?: string;
  readonly occurredAt: string;
  readonly version: number;
}

export interface ConversationState {
  readonly exists: boolean;
  /** Empty strings until ConversationStarted. */
  readonly conversationId: string;
  readonly tenantId: string;
  readonly subjectId: string;
  readonly modelId: string;
  readonly channel?: string;
  readonly forkedFrom?: ForkOrigin;
  readonly startedAt: string | null;
  readonly messages: Readonly<Record<string, MessageNode>>;
  /** Message ids in append order. */
  readonly messageOrder: readonly string[];
  readonly rootMessageIds: readonly string[];
  /** The newest message appended. */
  readonly activeLeafMessageId: string | null;
  readonly redirections: readonly RedirectionFact[];
  readonly warnings: readonly WarningFact[];
  readonly endRequests: readonly EndRequestFact[];
  /** In stream order. */
  readonly ends: readonly EndFact[];
  readonly blockedEndAttempts: readonly BlockedEndAttempt[];
  readonly openRiskFlags: Readonly<Record<string, RiskFlag>>;
  readonly clearedRiskFlags: Readonly<Record<string, ClearedRiskFlag>>;
  readonly reviews: readonly EndReview[];
  readonly feedbackCount: number;
  /** Version of the last event folded; 0 before any. */
  readonly version: number;
  readonly lastEventAt: string | null;
}

export const initialState = (): ConversationState => ({
  exists: false,
  conversationId: '',
  tenantId: '',
  subjectId: '',
  modelId: '',
  startedAt: null,
  messages: {},
  messageOrder: [],
  rootMessageIds: [],
  activeLeafMessageId: null,
  redirections: [],
  warnings: [],
  endRequests: [],
  ends: [],
  blockedEndAttempts: [],
  openRiskFlags: {},
  clearedRiskFlags: {},
  reviews: [],
  feedbackCount: 0,
  version: 0,
  lastEventAt: null,
});
