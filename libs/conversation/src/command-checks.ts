import { ConversationError } from './errors';
import { endOfLineage } from './lineage';
import { isReasonCode } from './reason-codes';
import type { ConversationState, MessageNode } from './state';
import { type MessageRole, isOneOf } from './vocabulary';

// Shared refusals of decide. Each throws a ConversationError and so appends nothing.

export const invalid = (field: string, message: string, details: Record<string, unknown> = {}): ConversationError =>
  new ConversationError('VALIDATION_FAILED', message, { field, ...details });

export const requireStarted = (state: ConversationState): void => {
  if (!state.exists) throw new ConversationError('NOT_FOUND', 'The conversation does not exist');
};

export const requireOneOf = <T extends string>(list: readonly T[], value: unknown, field: string): void => {
  if (!isOneOf(list, value)) throw invalid(field, `${field} must be one of ${list.join(', ')}`, { allowed: list });
};

/**
 * A code word only: which codes exist is each policy version's (a code the version in force does
 * not declare is the guard REASON_NOT_ALLOWED; the API refuses a code no known version declares).
 */
export const requireReasonCode = (value: unknown, field: string): void => {
  if (!isReasonCode(value)) throw invalid(field, `${field} must be a reason code: upper-case letters, digits and _`);
};

export const requireText = (value: unknown, field: string): void => {
  if (typeof value !== 'string' || value.trim().length === 0)
    throw invalid(field, `${field} must be a non-empty string`);
};

export const requireOptionalString = (value: unknown, field: string): void => {
  if (value !== undefined && typeof value !== 'string') throw invalid(field, `${field} must be a string`);
};

export const requireMessage = (state: ConversationState, messageId: string, field: string): MessageNode => {
  const message = state.messages[messageId];
  if (!message) {
    throw new ConversationError('UNKNOWN_MESSAGE', `Message ${messageId} is not in this conversation`, {
      field,
      messageId,
    });
  }
  return message;
};

export const requireRole = (message: MessageNode, role: MessageRole, field: string): void => {
  if (message.role !== role) {
    throw invalid(field, `${field} must name a ${role} message; ${message.messageId} is a ${message.role} message`, {
      messageId: message.messageId,
    });
  }
};

/** Refuses anything attached at or below an end point. */
export const requireOpenLineage = (state: ConversationState, messageId: string): void => {
  const end = endOfLineage(state, messageId);
  if (end) {
    throw new ConversationError('LINEAGE_ENDED', `The lineage through message ${messageId} was ended`, {
      messageId,
      endEventId: end.endEventId,
      endedAtMessageId: end.endedAtMessageId,
    });
  }
};
