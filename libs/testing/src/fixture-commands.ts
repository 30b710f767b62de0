import { randomUUID } from 'node:crypto';
import {
  type Caller,
  type CommandOutcome,
  conversationCommandDeps,
  type ConversationCommandDeps,
  handleConversationCommand,
} from '@app/application';
import { type ConversationCommand, type Policy, POLICY_V1 } from '@app/conversation';
import type { PostgresEventStore } from '@app/event-store';
import type { ContentSealer } from '@app/privacy';
import { testContentSealer } from './content-keys';

/**
 * Test data written the way the API writes it: through handleConversationCommand, sealed under
 * the test run's master key, at the times `clock` gives, without size limits or snapshots.
 */
export function fixtureDeps(
  store: PostgresEventStore,
  options: { clock?: () => Date; policy?: Policy; newEventId?: () => string; content?: ContentSealer } = {},
): ConversationCommandDeps {
  const policy = options.policy ?? POLICY_V1;
  return conversationCommandDeps({
    store,
    snapshots: null,
    policy: () => policy,
    limits: { maxEvents: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER },
    content: options.content ?? testContentSealer(store.pool),
    clock: options.clock,
    newEventId: options.newEventId ?? randomUUID,
  });
}

/**
 * The key a fixture's command is sent under: a review under its reviewer's own key (so it never
 * reviews an end of its own key), staff commands under an operator key, the rest a writer key.
 */
export function fixtureCaller(command: ConversationCommand, tenantId: string): Caller {
  if (command.type === 'ReviewEndDecision')
    return { keyId: command.data.reviewerId, role: 'auditor', tenantId, holder: null };
  const staff =
    command.type === 'ClearSafetyRisk' ||
    (command.type === 'EndConversation' && command.data.initiator === 'operator') ||
    (command.type === 'FlagSafetyRisk' && command.data.source === 'operator');
  return staff
    ? { keyId: 'fixture-operator', role: 'operator', tenantId, holder: null }
    : { keyId: 'fixture-writer', role: 'writer', tenantId, holder: null };
}

/** Runs one command on a conversation of `tenantId` as fixtureCaller's key. */
export function runFixtureCommand(
  deps: ConversationCommandDeps,
  conversationId: string,
  tenantId: string,
  command: ConversationCommand,
): Promise<CommandOutcome> {
  const context = {
    principal: fixtureCaller(command, tenantId),
    origin: 'caller' as const,
    correlationId: randomUUID(),
  };
  return handleConversationCommand(deps, { conversationId, command, context });
}
