import type { ConversationCommand } from '@app/conversation';
import type { NewEvent, StoredEvent } from '@app/event-store';
import { ApiError } from '../../common/api-error';
import { BODY_LIMIT } from '../../common/body-limit';
import type { CommandContext } from './conversation-command';

export interface StreamLimits {
  maxEvents: number;
  maxBytes: number;
}

/**
 * Staff oversight lands on a full conversation too: a writer who fills a stream must not be able
 * to keep an auditor from reviewing its end, or an operator from recording a risk.
 */
const OVERSIGHT: ReadonlySet<ConversationCommand['type']> = new Set(['ReviewEndDecision', 'FlagSafetyRisk', 'ClearSafetyRisk']);

/** Whether the conversation size limits apply: to callers' commands, never to the service's own events. */
export const isBoundedBySize = (command: ConversationCommand, context: CommandContext): boolean =>
  context.origin === 'caller' && !OVERSIGHT.has(command.type);

/** What an event takes in its stream: its data and metadata as UTF-8 JSON. */
const bytesOf = (e: Pick<StoredEvent, 'data' | 'metadata'>): number =>
  Buffer.byteLength(JSON.stringify(e.data)) + Buffer.byteLength(JSON.stringify(e.metadata));

/**
 * The most one event can take: its data comes from one request body (ids and counts added), its
 * metadata from a few bounded headers. Below `maxBytes / EVENT_BYTES_BOUND` events a stream cannot
 * be over its byte limit, so the byte count (a JSON pass over the whole stream) is skipped there.
 */
const EVENT_BYTES_BOUND = BODY_LIMIT + 16 * 1024;

/**
 * 422 CONVERSATION_TOO_LARGE when appending would take the stream past MAX_CONVERSATION_EVENTS
 * or MAX_CONVERSATION_BYTES. Nothing is appended then, a blocked end's record included: the
 * stream is full.
 */
export function assertRoom(stored: Pick<StoredEvent, 'data' | 'metadata'>[], appended: NewEvent[], limits: StreamLimits, id: string): void {
  const events = stored.length + appended.length;
  let bytes = 0;
  if (events <= limits.maxEvents) {
    if (events * EVENT_BYTES_BOUND <= limits.maxBytes) return;
    for (const e of stored) bytes += bytesOf(e);
    for (const e of appended) bytes += bytesOf(e);
    if (bytes <= limits.maxBytes) return;
  }
  const over = events > limits.maxEvents ? `${limits.maxEvents} events` : `${limits.maxBytes} bytes`;
  throw new ApiError(422, 'CONVERSATION_TOO_LARGE', `conversation ${id} would grow past its limit of ${over}; start a new conversation`, {
    maxEvents: limits.maxEvents,
    maxBytes: limits.maxBytes,
  });
}
