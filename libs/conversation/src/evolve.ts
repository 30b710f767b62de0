import type { RecordedConversationEvent } from './events';
import { compact } from './compact';
import { type ConversationState, type EndFact, type MessageNode, initialState } from './state';

type Mutable<T> = {
  -readonly [K in keyof T]: T[K] extends readonly (infer E)[]
    ? E[]
    : T[K] extends object
      ? { [k: string]: T[K][keyof T[K]] }
      : T[K];
};

/**
 * A state being folded. Its collections are the fold's own copies, grown in place, so folding n
 * events costs O(n) rather than copying the whole state per event; the objects inside them
 * (message nodes, facts) are shared with the state folded from and are replaced, never changed.
 */
type Draft = Mutable<ConversationState>;

/**
 * A map keyed by message ids. Without a prototype, V8 keeps it a hash table from the start
 * instead of deriving a new object shape for every id added (most of a fold's time otherwise).
 */
export const idMap = <T>(entries: Readonly<Record<string, T>> = {}): Record<string, T> =>
  Object.assign(Object.create(null) as Record<string, T>, entries);

const draftOf = (state: ConversationState): Draft => ({
  ...state,
  messages: idMap(state.messages),
  messageOrder: [...state.messageOrder],
  rootMessageIds: [...state.rootMessageIds],
  redirections: [...state.redirections],
  warnings: [...state.warnings],
  endRequests: [...state.endRequests],
  ends: [...state.ends],
  blockedEndAttempts: [...state.blockedEndAttempts],
  openRiskFlags: { ...state.openRiskFlags },
  clearedRiskFlags: { ...state.clearedRiskFlags },
  reviews: [...state.reviews],
  erasedContentKeyIds: [...state.erasedContentKeyIds],
});

const appendMessage = (draft: Draft, event: Extract<RecordedConversationEvent, { type: 'MessageAppended' }>): void => {
  const { messageId, parentMessageId, role, content, modelId, stopReason } = event.data;
  const parent = parentMessageId === null ? undefined : draft.messages[parentMessageId];
  if (parent) draft.messages[parent.messageId] = { ...parent, childIds: [...parent.childIds, messageId] };
  else if (parentMessageId === null) draft.rootMessageIds.push(messageId);
  const node: Mutable<MessageNode> = {
    messageId,
    parentMessageId,
    role,
    content,
    childIds: [],
    index: draft.messageOrder.length,
    createdAt: event.occurredAt,
    version: event.version,
  };
  if (modelId !== undefined) node.modelId = modelId;
  if (stopReason !== undefined) node.stopReason = stopReason;
  draft.messages[messageId] = node;
  draft.messageOrder.push(messageId);
  draft.activeLeafMessageId = messageId;
};

const reviewEnd = (draft: Draft, event: Extract<RecordedConversationEvent, { type: 'EndDecisionReviewed' }>): void => {
  const { reviewId, reviewerId, endEventId, outcome, newReasonCode, errorType, note } = event.data;
  draft.reviews.push(
    compact({
      reviewId,
      reviewerId,
      endEventId,
      outcome,
      newReasonCode,
      errorType,
      note,
      reviewedAt: event.occurredAt,
      version: event.version,
    }),
  );
  // The latest review of an end decides its reviewOutcome.
  draft.ends = draft.ends.map((end): EndFact => {
    if (end.endEventId !== endEventId) return end;
    const { reclassifiedAs: _previous, ...rest } = end;
    return { ...rest, reviewOutcome: outcome, ...(newReasonCode !== undefined && { reclassifiedAs: newReasonCode }) };
  });
};

const apply = (draft: Draft, event: RecordedConversationEvent): void => {
  switch (event.type) {
    case 'ConversationStarted': {
      const { conversationId, tenantId, subjectId, modelId, channel, forkedFrom } = event.data;
      Object.assign(draft, compact({ conversationId, tenantId, subjectId, modelId, channel, forkedFrom }));
      draft.exists = true;
      draft.startedAt = event.occurredAt;
      return;
    }
    case 'MessageAppended':
      return appendMessage(draft, event);
    case 'RedirectionAttempted':
      draft.redirections.push({ ...event.data, version: event.version });
      return;
    case 'WarningIssued':
      draft.warnings.push({ ...event.data, version: event.version });
      return;
    case 'EndRequestedByUser':
      draft.endRequests.push({ ...event.data, version: event.version });
      return;
    case 'SafetyRiskFlagged':
      draft.openRiskFlags[event.data.flagId] = { ...event.data, flaggedAt: event.occurredAt };
      return;
    case 'SafetyRiskCleared': {
      const flag = draft.openRiskFlags[event.data.flagId];
      if (!flag) return;
      delete draft.openRiskFlags[event.data.flagId];
      draft.clearedRiskFlags[flag.flagId] = compact({ ...flag, clearedAt: event.occurredAt, note: event.data.note });
      return;
    }
    case 'ConversationEnded':
      draft.ends.push({
        ...event.data,
        endEventId: event.eventId,
        endedAt: event.occurredAt,
        version: event.version,
        reviewOutcome: null,
      });
      return;
    case 'EndAttemptBlocked':
      draft.blockedEndAttempts.push({
        ...event.data,
        eventId: event.eventId,
        occurredAt: event.occurredAt,
        version: event.version,
      });
      return;
    case 'FeedbackSubmitted':
      draft.feedbackCount += 1;
      return;
    case 'EndDecisionReviewed':
      return reviewEnd(draft, event);
    case 'ContentErased':
      // Keys destroyed: nothing the status derives changes (its version and last event move on).
      draft.erasedContentKeyIds.push(...(event.data.keyIds ?? []));
      return;
    default: {
      const unknownEvent: never = event;
      throw new Error(`Unknown conversation event type: ${(unknownEvent as { type: string }).type}`);
    }
  }
};

/**
 * Folds stored events onto a state (the initial one by default) and returns the new state; the
 * state given is left untouched. Trusts the stream: decide refused anything invalid before it
 * was stored.
 */
export const foldEvents = (
  events: Iterable<RecordedConversationEvent>,
  state: ConversationState = initialState(),
): ConversationState => foldEventsInPlace(draftOf(state), events);

/**
 * Folds events onto `owned` itself and returns it: O(events), where foldEvents first copies the
 * state's collections, O(state). Only for a state that nothing else reads (a command cache's own
 * copy, one command at a time); `owned` must come from foldEvents or fromSnapshot, never from a
 * caller's literal.
 */
export const foldEventsInPlace = (
  owned: ConversationState,
  events: Iterable<RecordedConversationEvent>,
): ConversationState => {
  const draft = owned as Draft;
  for (const event of events) {
    apply(draft, event);
    draft.version = event.version;
    draft.lastEventAt = event.occurredAt;
  }
  return draft;
};

/** Folds one stored event (see foldEvents). */
export const evolve = (state: ConversationState, event: RecordedConversationEvent): ConversationState =>
  foldEvents([event], state);
