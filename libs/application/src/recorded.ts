import type { RecordedConversationEvent } from '@app/conversation';
import type { StoredEvent } from '@app/event-store';

/** A stored event as the domain folds it. */
export function toRecorded(
  e: Pick<StoredEvent, 'type' | 'data' | 'eventId' | 'version' | 'occurredAt'>,
): RecordedConversationEvent {
  return {
    type: e.type,
    data: e.data,
    eventId: e.eventId,
    version: e.version,
    occurredAt: e.occurredAt,
  } as RecordedConversationEvent;
}

/**
 * A stored event as commands fold it: without message content, which no rule reads. The states
 * commands keep (cache, snapshots) then weigh the same for 100-byte and 100-kB messages.
 */
export function toCommandEvent(
  e: Pick<StoredEvent, 'type' | 'data' | 'eventId' | 'version' | 'occurredAt'>,
): RecordedConversationEvent {
  const data = e.type === 'MessageAppended' ? { ...e.data, content: '' } : e.data;
  return {
    type: e.type,
    data,
    eventId: e.eventId,
    version: e.version,
    occurredAt: e.occurredAt,
  } as RecordedConversationEvent;
}
