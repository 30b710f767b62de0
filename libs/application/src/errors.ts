export const APPLICATION_ERROR_CODES = [
  'NOT_FOUND',
  'VERSION_CONFLICT',
  'CONVERSATION_BUSY',
  'CONVERSATION_TOO_LARGE',
] as const;

/** Refusals of the application layer, each with a stable code of the public contract. */
export abstract class ApplicationError extends Error {
  abstract readonly code: (typeof APPLICATION_ERROR_CODES)[number];
}

/** No such conversation, or one of another tenant (existence does not leak). */
export class ConversationNotFound extends ApplicationError {
  readonly code = 'NOT_FOUND';
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} was not found`);
  }
}

/** If-Match named a version the conversation is not at. */
export class StaleVersion extends ApplicationError {
  readonly code = 'VERSION_CONFLICT';
  constructor(
    readonly expected: number,
    readonly currentVersion: number,
  ) {
    super(`If-Match was "${expected}" but the conversation is at version ${currentVersion}`);
  }
}

/** The conversation's command queue in this process is full. */
export class ConversationBusy extends ApplicationError {
  readonly code = 'CONVERSATION_BUSY';
  constructor(
    readonly conversationId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`conversation ${conversationId} has too many commands waiting; try again`);
  }
}

/** Appending would take the conversation past MAX_CONVERSATION_EVENTS or MAX_CONVERSATION_BYTES. */
export class ConversationTooLarge extends ApplicationError {
  readonly code = 'CONVERSATION_TOO_LARGE';
  constructor(
    readonly conversationId: string,
    readonly limits: { readonly maxEvents: number; readonly maxBytes: number },
    over: 'events' | 'bytes',
  ) {
    const limit = over === 'events' ? `${limits.maxEvents} events` : `${limits.maxBytes} bytes`;
    super(`conversation ${conversationId} would grow past its limit of ${limit}; start a new conversation`);
  }
}

/** Every application refusal: error-mapping answers each (a missing one fails to compile). */
export type ApplicationRefusal = ConversationNotFound | StaleVersion | ConversationBusy | ConversationTooLarge;
