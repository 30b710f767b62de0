import type { ConversationState, EndFact, MessageNode } from './state';

// A lineage is the path root → message. "On the lineage through X" means X or an ancestor of X.

/** Ids from the root down to `messageId` (included); empty for an unknown message. */
export const lineagePath = (state: ConversationState, messageId: string): string[] => {
  const path: string[] = [];
  const seen = new Set<string>();
  let current: MessageNode | undefined = state.messages[messageId];
  while (current && !seen.has(current.messageId)) {
    seen.add(current.messageId);
    path.push(current.messageId);
    current = current.parentMessageId === null ? undefined : state.messages[current.parentMessageId];
  }
  return path.reverse();
};

export const isOnLineage = (state: ConversationState, candidateId: string, throughId: string): boolean =>
  lineagePath(state, throughId).includes(candidateId);

/**
 * The end that closed the lineage through `messageId` (an end at it or at an ancestor; the first
 * recorded when several), if any. Every message command asks: without ends it answers at once,
 * and it walks the path without building it, so a message on a long conversation stays cheap.
 */
export const endOfLineage = (state: ConversationState, messageId: string): EndFact | undefined => {
  if (state.ends.length === 0) return undefined;
  const firstAt = new Map<string, number>();
  state.ends.forEach((end, i) => firstAt.has(end.endedAtMessageId) || firstAt.set(end.endedAtMessageId, i));
  let first = -1;
  // At most one step per message: a cycle (never stored) cannot hold the walk.
  let current: MessageNode | undefined = state.messages[messageId];
  for (let steps = state.messageOrder.length; current && steps >= 0; steps--) {
    const i = firstAt.get(current.messageId);
    if (i !== undefined && (first === -1 || i < first)) first = i;
    current = current.parentMessageId === null ? undefined : state.messages[current.parentMessageId];
  }
  return first === -1 ? undefined : state.ends[first];
};

/**
 * Redirections on the lineage, one per assistant message. The thread status asks on every
 * change: without redirections it answers at once, and it walks the path without building it.
 */
export const redirectionCountOnLineage = (state: ConversationState, throughId: string): number => {
  if (state.redirections.length === 0) return 0;
  const redirected = new Set(state.redirections.map((r) => r.messageId));
  let count = 0;
  // At most one step per message: a cycle (never stored) cannot hold the walk.
  let current: MessageNode | undefined = state.messages[throughId];
  for (let steps = state.messageOrder.length; current && steps >= 0; steps--) {
    if (redirected.has(current.messageId)) count++;
    current = current.parentMessageId === null ? undefined : state.messages[current.parentMessageId];
  }
  return count;
};

export const hasEndRequestOnLineage = (state: ConversationState, throughId: string): boolean => {
  const path = new Set(lineagePath(state, throughId));
  return state.endRequests.some((request) => path.has(request.messageId));
};

/** A warning on the lineage that the user saw: some user message on the lineage comes after it. */
export const hasHeededWarningOnLineage = (state: ConversationState, throughId: string): boolean => {
  const path = lineagePath(state, throughId);
  const warned = new Set(state.warnings.map((warning) => warning.messageId));
  const firstWarning = path.findIndex((id) => warned.has(id));
  if (firstWarning < 0) return false;
  return path.slice(firstWarning + 1).some((id) => state.messages[id]?.role === 'user');
};

/** Messages with no children: one per branch. */
export const leafMessageIds = (state: ConversationState): string[] =>
  state.messageOrder.filter((id) => state.messages[id]?.childIds.length === 0);
