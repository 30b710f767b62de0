import type { ConversationCommand, ConversationState, DomainEvent } from '@app/conversation';
import type { NewEvent } from '@app/event-store';
import { actorOf } from './actor';
import type { CommandContext } from './command-context';

/** Where times and event ids come from: the wall clock and random UUIDs, or fixed ones (seed, tests). */
export interface EventSource {
  clock(): Date;
  newEventId(): string;
}

/**
 * The decided events as the store keeps them, with the one metadata layout every writer uses
 * (API, seed, bench, test drivers): actor, tenantId, apiKeyId, apiKeyHolder, correlationId,
 * causationId and commandId (the idempotency key), the last three only when given.
 */
export function envelope(
  events: DomainEvent[],
  state: ConversationState,
  command: ConversationCommand,
  context: CommandContext,
  source: EventSource,
): NewEvent[] {
  const occurredAt = source.clock().toISOString();
  const { principal } = context;
  const metadata = {
    actor: actorOf(command, state, principal),
    tenantId: command.type === 'StartConversation' ? command.data.tenantId : state.tenantId,
    apiKeyId: principal.keyId,
    ...(principal.holder ? { apiKeyHolder: principal.holder } : {}),
    correlationId: context.correlationId,
    ...(context.causationId ? { causationId: context.causationId } : {}),
    ...(context.idempotency ? { commandId: context.idempotency.key } : {}),
  };
  return events.map((e) => ({
    eventId: source.newEventId(),
    type: e.type,
    data: e.data as unknown as Record<string, unknown>,
    occurredAt,
    metadata,
  }));
}
