import type { RecordedConversationEvent } from './events';
import { compact } from './compact';
import { type ConversationState, type EndFact, type MessageNode, initialState } from './state';

const appendMessage = (
  state: ConversationState,
  event: Extract<RecordedConversationEvent, { type: 'MessageAppended' }>,
): ConversationState => {
  const { messageId, parentMessageId, role, content, modelId, stopReason } = event.data;
  const node: MessageNode = compact({
    messageId,
    parentMessageId,
    role,
    content,
    modelId,
    stopReason,
    childIds: [],
    index: state.messageOrder.length,
    createdAt: event.occurredAt,
    version: event.version,
  });
  const parent = parentMessageId === null ? undefined : state.messages[parentMessageId];
  return {
    ...state,
    messages: {
      ...state.messages,
      ...(parent && { [parent.messageId]: { ...parent, childIds: [...parent.childIds, messageId] } }),
      [messageId]: node,
    },
    messageOrder: [...state.messageOrder, messageId],
    rootMessageIds: parentMessageId === null ? [...state.rootMessageIds, messageId] : state.rootMessageIds,
    activeLeafMessageId: messageId,
  };
};

const reviewEnd = (
  state: ConversationState,
  event: Extract<RecordedConversationEvent, { type: 'EndDecisionReviewed' }>,
): ConversationState => {
  const { reviewId, reviewerId, endEventId, outcome, newReasonCode, errorType, note } = event.data;
  const review = compact({
    reviewId,
    reviewerId,
    endEventId,
    outcome,
    newReasonCode,
    errorType,
    note,
    reviewedAt: event.occurredAt,
    version: event.version,
  });
  // The latest review of an end decides its reviewOutcome.
  const ends = state.ends.map((end): EndFact => {
    if (end.endEventId !== endEventId) return end;
    const { reclassifiedAs: _previous, ...rest } = end;
    return { ...rest, reviewOutcome: outcome, ...(newReasonCode !== undefined && { reclassifiedAs: newReasonCode }) };
  });
  return { ...state, ends, reviews: [...state.reviews, review] };
};

const apply = (state: ConversationState, event: RecordedConversationEvent): ConversationState => {
  switch (event.type) {
    case 'ConversationStarted': {
      const { conversationId, tenantId, subjectId, modelId, channel, forkedFrom } = event.data;
      return {
        ...state,
        ...compact({ conversationId, tenantId, subjectId, modelId, channel, forkedFrom }),
        exists: true,
        startedAt: event.occurredAt,
      };
    }
    case 'MessageAppended':
      return appendMessage(state, event);
    case 'RedirectionAttempted':
      return { ...state, redirections: [...state.redirections, { ...event.data, version: event.version }] };
    case 'WarningIssued':
      return { ...state, warnings: [...state.warnings, { ...event.data, version: event.version }] };
    case 'EndRequestedByUser':
      return { ...state, endRequests: [...state.endRequests, { ...event.data, version: event.version }] };
    case 'SafetyRiskFlagged':
      return {
        ...state,
        openRiskFlags: { ...state.openRiskFlags, [event.data.flagId]: { ...event.data, flaggedAt: event.occurredAt } },
      };
    case 'SafetyRiskCleared': {
      const { [event.data.flagId]: flag, ...stillOpen } = state.openRiskFlags;
      if (!flag) return state;
      const cleared = compact({ ...flag, clearedAt: event.occurredAt, note: event.data.note });
      return { ...state, openRiskFlags: stillOpen, clearedRiskFlags: { ...state.clearedRiskFlags, [flag.flagId]: cleared } };
    }
    case 'ConversationEnded': {
      const end: EndFact = {
        ...event.data,
        endEventId: event.eventId,
        endedAt: event.occurredAt,
        version: event.version,
        reviewOutcome: null,
      };
      return { ...state, ends: [...state.ends, end] };
    }
    case 'EndAttemptBlocked':
      return {
        ...state,
        blockedEndAttempts: [
          ...state.blockedEndAttempts,
          { ...event.data, eventId: event.eventId, occurredAt: event.occurredAt, version: event.version },
        ],
      };
    case 'FeedbackSubmitted':
      return { ...state, feedbackCount: state.feedbackCount + 1 };
    case 'EndDecisionReviewed':
      return reviewEnd(state, event);
    default: {
      const unknownEvent: never = event;
      throw new Error(`Unknown conversation event type: ${(unknownEvent as { type: string }).type}`);
    }
  }
};

/** Folds one stored event. Trusts the stream: decide refused anything invalid before it was stored. */
export const evolve = (state: ConversationState, event: RecordedConversationEvent): ConversationState => ({
  ...apply(state, event),
  version: event.version,
  lastEventAt: event.occurredAt,
});

export const foldEvents = (
  events: Iterable<RecordedConversationEvent>,
  state: ConversationState = initialState(),
): ConversationState => {
  let folded = state;
  for (const event of events) folded = evolve(folded, event);
  return folded;
};
