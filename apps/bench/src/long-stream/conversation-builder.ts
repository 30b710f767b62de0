import { randomUUID } from 'node:crypto';
import {
  type Caller,
  type ConversationCommandDeps,
  conversationCommandDeps,
  handleConversationCommand,
} from '@app/application';
import { type ConversationCommand, POLICY_V1 } from '@app/conversation';
import { type PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import type { Pool } from 'pg';
import { benchContentSealer } from '../content-key';
import { CONTENT_300 } from '../http/message-load';

/** A conversation built for the bench: its id and the message its next message answers. */
export interface BuiltConversation {
  conversationId: string;
  lastMessageId: string;
  lastRole: 'user' | 'assistant';
}

const UNLIMITED = { maxEvents: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

/** The command path the API uses (queue, cache, snapshots every 100 events), on the bench's pool. */
export const benchCommandDeps = (
  pool: Pool,
  store: PostgresEventStore,
  cacheEvents?: number,
): ConversationCommandDeps =>
  conversationCommandDeps({
    store,
    snapshots: new PostgresSnapshotStore(pool),
    policy: () => POLICY_V1,
    limits: UNLIMITED,
    cacheEvents,
    content: benchContentSealer(pool),
  });

const writer = (tenantId: string): Caller => ({ keyId: 'bench-writer', role: 'writer', tenantId, holder: null });

/** One command through handleConversationCommand, as a writer key of the tenant would send it. */
export function runCommand(
  deps: ConversationCommandDeps,
  tenantId: string,
  conversationId: string,
  command: ConversationCommand,
) {
  const context = { principal: writer(tenantId), origin: 'caller' as const, correlationId: randomUUID() };
  return handleConversationCommand(deps, { conversationId, command, context });
}

/** The next 300-byte message of a conversation, answering its last one; the conversation moves on. */
export async function appendMessage(deps: ConversationCommandDeps, tenantId: string, c: BuiltConversation) {
  const role = c.lastRole === 'user' ? 'assistant' : 'user';
  const messageId = randomUUID();
  const parentMessageId = c.lastMessageId || null;
  await runCommand(deps, tenantId, c.conversationId, {
    type: 'AppendMessage',
    data: { messageId, parentMessageId, role, content: CONTENT_300 },
  });
  c.lastMessageId = messageId;
  c.lastRole = role;
}

/**
 * A conversation of exactly `events` events: a start, then 300-byte messages, user and assistant
 * in turn, each decided and appended through handleConversationCommand (the API's path: the same
 * metadata envelope, and a snapshot every 100 events), one command at a time.
 */
export async function buildConversation(
  deps: ConversationCommandDeps,
  tenantId: string,
  events: number,
): Promise<BuiltConversation> {
  const conversationId = randomUUID();
  await runCommand(deps, tenantId, conversationId, {
    type: 'StartConversation',
    data: { conversationId, tenantId, subjectId: 'bench-user', modelId: 'bench-model' },
  });
  const built: BuiltConversation = { conversationId, lastMessageId: '', lastRole: 'assistant' };
  for (let n = 1; n < events; n++) await appendMessage(deps, tenantId, built);
  return built;
}
