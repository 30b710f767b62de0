import {
  invalid,
  requireMessage,
  requireOneOf,
  requireOpenLineage,
  requireOptionalString,
  requireRole,
  requireStarted,
  requireText,
} from './command-checks';
import type { AppendMessage, IssueWarning, RecordRedirection, RequestEnd, StartConversation } from './commands';
import { compact } from './compact';
import { ConversationError } from './errors';
import type {
  ConversationStarted,
  EndRequestedByUser,
  MessageAppended,
  RedirectionAttempted,
  WarningIssued,
} from './events';
import { HARM_CATEGORIES } from './reason-codes';
import type { ConversationState } from './state';
import { MESSAGE_ROLES, STOP_REASONS } from './vocabulary';

export const start = ({ data }: StartConversation, state: ConversationState): ConversationStarted[] => {
  if (state.exists) {
    throw new ConversationError('CONVERSATION_EXISTS', `Conversation ${data.conversationId} already exists`, {
      conversationId: state.conversationId,
    });
  }
  requireText(data.conversationId, 'conversationId');
  requireText(data.tenantId, 'tenantId');
  requireText(data.subjectId, 'subjectId');
  requireText(data.modelId, 'modelId');
  requireOptionalString(data.channel, 'channel');
  if (data.forkedFrom !== undefined) {
    requireText(data.forkedFrom?.conversationId, 'forkedFrom.conversationId');
    requireText(data.forkedFrom?.messageId, 'forkedFrom.messageId');
    if (data.forkedFrom.conversationId === data.conversationId)
      throw invalid('forkedFrom.conversationId', 'A conversation cannot be forked from itself');
  }
  const { conversationId, tenantId, subjectId, modelId, channel, forkedFrom } = data;
  const origin = forkedFrom && { conversationId: forkedFrom.conversationId, messageId: forkedFrom.messageId };
  return [
    {
      type: 'ConversationStarted',
      data: compact({ conversationId, tenantId, subjectId, modelId, channel, forkedFrom: origin }),
    },
  ];
};

export const appendMessage = ({ data }: AppendMessage, state: ConversationState): MessageAppended[] => {
  requireStarted(state);
  requireText(data.messageId, 'messageId');
  requireOneOf(MESSAGE_ROLES, data.role, 'role');
  if (typeof data.content !== 'string') throw invalid('content', 'content must be a string');
  if (data.stopReason !== undefined) requireOneOf(STOP_REASONS, data.stopReason, 'stopReason');
  if (data.modelId !== undefined) requireText(data.modelId, 'modelId');
  if (data.role === 'user' && data.modelId !== undefined)
    throw invalid('modelId', 'modelId describes an assistant message, not a user message');
  if (data.role === 'user' && data.stopReason !== undefined)
    throw invalid('stopReason', 'stopReason describes an assistant message, not a user message');
  if (data.parentMessageId !== null && typeof data.parentMessageId !== 'string')
    throw invalid('parentMessageId', 'parentMessageId must be a message id or null');
  if (data.parentMessageId !== null) {
    requireMessage(state, data.parentMessageId, 'parentMessageId');
    // A parent at or below an end point is on an ended lineage; a strict ancestor starts a branch.
    requireOpenLineage(state, data.parentMessageId);
  }
  if (state.messages[data.messageId]) {
    throw new ConversationError('DUPLICATE_MESSAGE', `Message ${data.messageId} already exists`, {
      messageId: data.messageId,
    });
  }
  const { messageId, parentMessageId, role, content, modelId, stopReason } = data;
  return [
    { type: 'MessageAppended', data: compact({ messageId, parentMessageId, role, content, modelId, stopReason }) },
  ];
};

const requireNotRecorded = (recorded: readonly { messageId: string }[], messageId: string, what: string): void => {
  if (recorded.some((fact) => fact.messageId === messageId)) {
    throw new ConversationError('ALREADY_RECORDED', `A ${what} is already recorded on message ${messageId}`, {
      messageId,
    });
  }
};

export const recordRedirection = ({ data }: RecordRedirection, state: ConversationState): RedirectionAttempted[] => {
  requireStarted(state);
  requireOneOf(HARM_CATEGORIES, data.harmCategory, 'harmCategory');
  const message = requireMessage(state, data.messageId, 'messageId');
  requireRole(message, 'assistant', 'messageId');
  requireOpenLineage(state, data.messageId);
  // One attempt per assistant message: a repeat would inflate the count the end guard reads.
  requireNotRecorded(state.redirections, data.messageId, 'redirection');
  return [{ type: 'RedirectionAttempted', data: { messageId: data.messageId, harmCategory: data.harmCategory } }];
};

export const issueWarning = ({ data }: IssueWarning, state: ConversationState): WarningIssued[] => {
  requireStarted(state);
  requireOneOf(HARM_CATEGORIES, data.reasonCode, 'reasonCode');
  const message = requireMessage(state, data.messageId, 'messageId');
  requireRole(message, 'assistant', 'messageId');
  requireOpenLineage(state, data.messageId);
  requireNotRecorded(state.warnings, data.messageId, 'warning');
  return [{ type: 'WarningIssued', data: { messageId: data.messageId, reasonCode: data.reasonCode } }];
};

export const requestEnd = ({ data }: RequestEnd, state: ConversationState): EndRequestedByUser[] => {
  requireStarted(state);
  const message = requireMessage(state, data.messageId, 'messageId');
  requireRole(message, 'user', 'messageId');
  requireOpenLineage(state, data.messageId);
  requireNotRecorded(state.endRequests, data.messageId, 'end request');
  return [{ type: 'EndRequestedByUser', data: { messageId: data.messageId } }];
};
