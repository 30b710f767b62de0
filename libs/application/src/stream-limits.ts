import { canonicalParts } from '@app/event-store';
import type { ConversationCommand } from '@app/conversation';
import type { CommandContext } from './command-context';
import { ConversationTooLarge } from './errors';

export interface StreamLimits {
  maxEvents: number;
  maxBytes: number;
}

/** A stream's size: its events and their data and metadata as JSON, in bytes. */
export interface StreamSize {
  events: number;
  bytes: number;
}

/**
 * Staff oversight lands on a full conversation too: a writer who fills a stream must not be able
 * to keep an auditor from reviewing its end, or an operator from recording a risk.
 */
const OVERSIGHT: ReadonlySet<ConversationCommand['type']> = new Set([
  'ReviewEndDecision',
  'FlagSafetyRisk',
  'ClearSafetyRisk',
]);

/** Whether the conversation size limits apply: to callers' commands, never to the service's own events. */
export const isBoundedBySize = (command: ConversationCommand, context: CommandContext): boolean =>
  context.origin === 'caller' && !OVERSIGHT.has(command.type);

/**
 * What an event takes in its stream: its data and metadata as UTF-8 JSON (the length of
 * JSON.stringify's text, which canonical JSON only reorders).
 */
export const bytesOf = (e: { data: unknown; metadata: unknown }): number =>
  Buffer.byteLength(JSON.stringify(e.data)) + Buffer.byteLength(JSON.stringify(e.metadata));

/**
 * bytesOf of an event about to be appended, from the canonical JSON its append writes (made
 * here once, reused by the store): refuses what the store refuses (InvalidEvent).
 */
export const newEventBytes = (e: { data: unknown; metadata: unknown }): number => {
  const parts = canonicalParts(e);
  return Buffer.byteLength(parts.data) + Buffer.byteLength(parts.metadata);
};

/**
 * ConversationTooLarge (422) when appending `added` would take the stream past its limits. The
 * stream's size is a running total (kept with its state and snapshots): nothing is measured
 * here. Nothing is appended then, a blocked end's record included: the stream is full.
 */
export function assertRoom(stream: StreamSize, added: StreamSize, limits: StreamLimits, conversationId: string): void {
  if (stream.events + added.events > limits.maxEvents) throw new ConversationTooLarge(conversationId, limits, 'events');
  if (stream.bytes + added.bytes > limits.maxBytes) throw new ConversationTooLarge(conversationId, limits, 'bytes');
}
