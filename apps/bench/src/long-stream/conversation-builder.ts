import { randomUUID } from 'node:crypto';
import {
  ConversationCommand,
  ConversationState,
  decide,
  foldEvents,
  initialState,
  POLICY_V1,
  RecordedConversationEvent,
  streamIdOf,
} from '@app/conversation';
import { NewEvent, newEventId, PostgresEventStore } from '@app/event-store';
import { CONTENT_300 } from '../http/message-load';

/** A conversation built for the bench: its id and the message its next message answers. */
export interface BuiltConversation {
  conversationId: string;
  lastMessageId: string;
  lastRole: 'user' | 'assistant';
}

/**
 * Commands decided on one folded state. Folding one event at a time copies the state each time
 * (quadratic: minutes for 10,000 messages), so the messages of a group all answer the last
 * message of the group before, and the state is folded once per group.
 */
const GROUP = 100;

/**
 * A conversation of exactly `events` events: a start, then 300-byte messages, user and assistant
 * in turn, in groups (see GROUP). Every event is decided by the domain on the state folded from
 * all the events before its group, and appended through the store at its exact version, one
 * append per group: a 10,000-event conversation takes seconds. Metadata as the API writes it.
 */
export async function buildConversation(
  store: PostgresEventStore,
  tenantId: string,
  events: number,
): Promise<BuiltConversation> {
  const conversationId = randomUUID();
  const streamId = streamIdOf(conversationId);
  const subjectId = 'bench-user';
  let state: ConversationState = initialState();
  let last: BuiltConversation = { conversationId, lastMessageId: '', lastRole: 'assistant' };
  for (let n = 0; n < events;) {
    const group: NewEvent[] = [];
    const recorded: RecordedConversationEvent[] = [];
    const parentMessageId = last.lastMessageId || null;
    // The start alone first: every message is decided on a started conversation.
    for (const end = n === 0 ? 1 : Math.min(events, n + GROUP); n < end; n++) {
      const role = last.lastRole === 'user' ? 'assistant' : 'user';
      const messageId = randomUUID();
      const command: ConversationCommand =
        n === 0
          ? { type: 'StartConversation', data: { conversationId, tenantId, subjectId, modelId: 'bench-model' } }
          : { type: 'AppendMessage', data: { messageId, parentMessageId, role, content: CONTENT_300 } };
      const occurredAt = new Date().toISOString();
      const actor = role === 'user' ? { type: 'user', id: subjectId } : { type: 'model', id: 'bench-model' };
      for (const event of decide(command, state, POLICY_V1)) {
        const eventId = newEventId();
        const data = event.data as unknown as Record<string, unknown>;
        group.push({
          eventId,
          type: event.type,
          data,
          occurredAt,
          metadata: { actor, tenantId, correlationId: randomUUID() },
        });
        recorded.push({
          ...event,
          eventId,
          version: state.version + recorded.length + 1,
          occurredAt,
        } as RecordedConversationEvent);
      }
      if (n > 0) last = { conversationId, lastMessageId: messageId, lastRole: role };
    }
    await store.append(streamId, group, { expectedVersion: state.version === 0 ? 'no_stream' : state.version });
    state = foldEvents(recorded, state);
  }
  return last;
}
