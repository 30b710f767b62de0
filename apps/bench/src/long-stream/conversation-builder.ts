import { randomUUID } from 'node:crypto';
import {
  ConversationCommand,
  ConversationState,
  decide,
  evolve,
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

/** Events per append while building: one round trip for many, as a bulk import would. */
const BATCH = 1000;

/**
 * A conversation of exactly `events` events (a start and a chain of messages, user and
 * assistant in turn, 300 bytes each), every one decided by the domain on the folded state and
 * appended through the store at its exact version: in batches, not one request each, so a
 * 10,000-event conversation takes seconds. The metadata is shaped as the API writes it.
 */
export async function buildConversation(store: PostgresEventStore, tenantId: string, events: number): Promise<BuiltConversation> {
  const conversationId = randomUUID();
  const streamId = streamIdOf(conversationId);
  const subjectId = 'bench-user';
  let state: ConversationState = initialState();
  let last: BuiltConversation = { conversationId, lastMessageId: '', lastRole: 'assistant' };
  let batch: NewEvent[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const expectedVersion = state.version - batch.length;
    await store.append(streamId, batch, { expectedVersion: expectedVersion === 0 ? 'no_stream' : expectedVersion });
    batch = [];
  };
  for (let n = 0; n < events; n++) {
    const role = last.lastRole === 'user' ? 'assistant' : 'user';
    const messageId = randomUUID();
    const command: ConversationCommand =
      n === 0
        ? { type: 'StartConversation', data: { conversationId, tenantId, subjectId, modelId: 'bench-model' } }
        : { type: 'AppendMessage', data: { messageId, parentMessageId: last.lastMessageId || null, role, content: CONTENT_300 } };
    const occurredAt = new Date().toISOString();
    for (const event of decide(command, state, POLICY_V1)) {
      const eventId = newEventId();
      const actor = role === 'user' ? { type: 'user', id: subjectId } : { type: 'model', id: 'bench-model' };
      const data = event.data as unknown as Record<string, unknown>;
      batch.push({ eventId, type: event.type, data, occurredAt, metadata: { actor, tenantId, correlationId: randomUUID() } });
      const recorded = { ...event, eventId, version: state.version + 1, occurredAt } as RecordedConversationEvent;
      state = evolve(state, recorded);
    }
    if (n > 0) last = { conversationId, lastMessageId: messageId, lastRole: role };
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return last;
}
