// Where a conversation lives in the event store: the stream `conversation-<lower-case uuid>`.
// Plain strings, so the domain owns the layout and every layer above reads it from here.

export const CONVERSATION_STREAM_PREFIX = 'conversation-';

const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const streamIdOf = (conversationId: string): string => `${CONVERSATION_STREAM_PREFIX}${conversationId}`;

/**
 * The conversation of a stream; null for any other stream (read models skip those). Lower case
 * only: a mixed-case stream written before the database refused them (migration 1764400600000)
 * would otherwise fold into the lower-case conversation's rows, another tenant's.
 */
export const conversationIdOf = (streamId: string): string | null => {
  const id = streamId.startsWith(CONVERSATION_STREAM_PREFIX) ? streamId.slice(CONVERSATION_STREAM_PREFIX.length) : '';
  return LOWER_UUID.test(id) ? id : null;
};
