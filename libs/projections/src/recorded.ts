import type { StoredEvent } from '@app/event-store';
import type { RecordedConversationEvent } from '@app/conversation';

export const CONVERSATION_STREAM_PREFIX = 'conversation-';

export const streamIdOf = (conversationId: string): string => `${CONVERSATION_STREAM_PREFIX}${conversationId}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The conversation of a stream; null for any other stream (read models skip those). */
export const conversationIdOf = (streamId: string): string | null => {
  const id = streamId.startsWith(CONVERSATION_STREAM_PREFIX) ? streamId.slice(CONVERSATION_STREAM_PREFIX.length) : '';
  return UUID.test(id) ? id : null;
};

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
