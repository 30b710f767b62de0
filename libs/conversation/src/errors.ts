// Refusals of `decide`. Codes are stable words the HTTP layer maps to problem+json.
export const CONVERSATION_ERROR_CODES = [
  'VALIDATION_FAILED', // malformed command (400)
  'NOT_FOUND', // conversation not started, or unknown risk flag (404)
  'CONVERSATION_EXISTS', // StartConversation on a started conversation (409)
  'UNKNOWN_MESSAGE', // a referenced message is not in this conversation (404)
  'DUPLICATE_MESSAGE', // messageId already used in this conversation (409)
  'LINEAGE_ENDED', // the lineage through the referenced message is ended (409)
  'ALREADY_RECORDED', // redirection, warning or end request already recorded on that message (409)
  'DUPLICATE_FLAG', // flagId already used (409)
  'FLAG_ALREADY_CLEARED', // clearing a flag that is cleared (409)
  'UNKNOWN_END', // review of an end that is not one of this conversation (404)
  'DUPLICATE_REVIEW', // reviewId already used (409)
  'SELF_REVIEW', // the reviewer recorded the end (same API key or same holder) (409)
] as const;
export type ConversationErrorCode = (typeof CONVERSATION_ERROR_CODES)[number];

export class ConversationError extends Error {
  override readonly name = 'ConversationError';

  constructor(
    readonly code: ConversationErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export const isConversationError = (error: unknown): error is ConversationError => error instanceof ConversationError;
