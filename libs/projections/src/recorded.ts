import type { StoredEvent } from '@app/event-store';
import type { RecordedConversationEvent } from '@app/conversation';

export const CONVERSATION_STREAM_PREFIX = 'conversation-';

export const streamIdOf = (conversationId: string): string => `${CONVERSATION_STREAM_PREFIX}${conversationId}`;

export const conversationIdOf = (streamId: string): string | null =>
  streamId.startsWith(CONVERSATION_STREAM_PREFIX) ? streamId.slice(CONVERSATION_STREAM_PREFIX.length) : null;

/** A stored event as the domain folds it. */
export function toRecorded(e: StoredEvent): RecordedConversationEvent {
  return { type: e.type, data: e.data, eventId: e.eventId, version: e.version, occurredAt: e.occurredAt } as RecordedConversationEvent;
}

/** Conversation events of a batch, grouped by conversation in commit order. */
export function byConversation(events: StoredEvent[]): Map<string, StoredEvent[]> {
  const groups = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const id = conversationIdOf(e.streamId);
    if (!id) continue;
    const group = groups.get(id);
    if (group) group.push(e);
    else groups.set(id, [e]);
  }
  return groups;
}
