import type { ConversationCommand } from '@app/conversation';
import type { Principal } from '../../auth/api-keys';

/** What the controller hands to the command bus: one domain command on one conversation. */
export class ExecuteConversationCommand {
  constructor(
    readonly conversationId: string,
    readonly command: ConversationCommand,
    readonly context: CommandContext,
  ) {}
}

export interface CommandContext {
  principal: Principal;
  /**
   * `caller`: a request's command, bounded by the conversation size limits. `service`: events
   * the service appends itself (e.g. erasure records), which those limits never refuse.
   */
  origin: 'caller' | 'service';
  /** From If-Match: the version the caller last saw. */
  ifMatch?: number;
  idempotency?: { key: string; requestHash: string };
  correlationId: string;
  causationId?: string;
  /** The tenant of a new conversation (StartConversation). */
  tenantId?: string;
}
