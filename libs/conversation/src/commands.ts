import type { ForkOrigin } from './events';
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

// Fields of CONTRACT.md's bodies; the handler fills every id (messageId, flagId, reviewId)
// before calling `decide`, so decide never invents one.

type Command<Type extends string, Data> = { readonly type: Type; readonly data: Data };

export type StartConversation = Command<
  'StartConversation',
  {
    conversationId: string;
    tenantId: string;
    subjectId: string;
    modelId: string;
    channel?: string;
    forkedFrom?: ForkOrigin;
  }
>;

export type AppendMessage = Command<
  'AppendMessage',
  {
    messageId: string;
    parentMessageId: string | null;
    role: MessageRole;
    content: string;
    modelId?: string;
    stopReason?: StopReason;
  }
>;

export type RecordRedirection = Command<'RecordRedirection', { messageId: string; harmCategory: HarmCategory }>;

export type IssueWarning = Command<'IssueWarning', { messageId: string; reasonCode: HarmCategory }>;

export type RequestEnd = Command<'RequestEnd', { messageId: string }>;

export type EndConversationData = {
  initiator: Initiator;
  reasonCode: ReasonCode;
  atMessageId: string;
  explanation?: string;
  evidenceMessageIds?: string[];
  modelId?: string;
};
export type EndConversation = Command<'EndConversation', EndConversationData>;

export type SubmitFeedback = Command<'SubmitFeedback', { messageId?: string; rating: Rating; comment?: string }>;

export type FlagSafetyRisk = Command<
  'FlagSafetyRisk',
  { flagId: string; kind: RiskKind; source: RiskSource; score?: number }
>;

export type ClearSafetyRisk = Command<'ClearSafetyRisk', { flagId: string; note?: string }>;

export type ReviewEndDecision = Command<
  'ReviewEndDecision',
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

export type ConversationCommand =
  | StartConversation
  | AppendMessage
  | RecordRedirection
  | IssueWarning
  | RequestEnd
  | EndConversation
  | SubmitFeedback
  | FlagSafetyRisk
  | ClearSafetyRisk
  | ReviewEndDecision;
