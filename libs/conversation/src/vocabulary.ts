// The closed word lists of DOMAIN.md. Arrays (not TS enums) so DTOs can use them as enums.

export const MESSAGE_ROLES = ['user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export const STOP_REASONS = ['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export const RISK_KINDS = ['self_harm', 'harm_to_others'] as const;
export type RiskKind = (typeof RISK_KINDS)[number];

export const RISK_SOURCES = ['classifier', 'model', 'operator'] as const;
export type RiskSource = (typeof RISK_SOURCES)[number];

export const RATINGS = ['up', 'down'] as const;
export type Rating = (typeof RATINGS)[number];

export const REVIEW_OUTCOMES = ['upheld', 'overturned', 'reclassified'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];

export const ERROR_TYPES = ['false_positive', 'wrong_reason', 'technical'] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** Who may end a conversation (users ask; they do not end). */
export const INITIATORS = ['model', 'operator'] as const;
export type Initiator = (typeof INITIATORS)[number];

export const THREAD_STATUSES = ['active', 'ended'] as const;
export type ThreadStatusValue = (typeof THREAD_STATUSES)[number];

/** Narrows an unknown value to one of a closed list. */
export const isOneOf = <T extends string>(list: readonly T[], value: unknown): value is T =>
  typeof value === 'string' && (list as readonly string[]).includes(value);
