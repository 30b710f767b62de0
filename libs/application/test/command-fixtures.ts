// Commands, callers and deps for the application layer's integration tests.
import { randomUUID } from 'node:crypto';
import { type ConversationCommand, foldEvents, POLICY_V1, streamIdOf, type ConversationState } from '@app/conversation';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import type { Pool } from 'pg';
import { testContentSealer } from '@app/testing';
import {
  type Caller,
  type CommandContext,
  type CommandDepsOptions,
  conversationCommandDeps,
  type ConversationCommandDeps,
  handleConversationCommand,
  toCommandEvent,
} from '../src';

export const TENANT = 'acme';
export const WRITER: Caller = { keyId: 'key-writer', role: 'writer', tenantId: TENANT, holder: null };
export const OPERATOR: Caller = { keyId: 'key-operator', role: 'operator', tenantId: TENANT, holder: null };

export const context = (more: Partial<CommandContext> = {}): CommandContext => ({
  principal: WRITER,
  origin: 'caller',
  correlationId: randomUUID(),
  ...more,
});

export const start = (conversationId: string): ConversationCommand => ({
  type: 'StartConversation',
  data: { conversationId, tenantId: TENANT, subjectId: 'subject-1', modelId: 'claude-opus-4-1' },
});

export const say = (
  parentMessageId: string | null,
  role: 'user' | 'assistant' = 'user',
  messageId = randomUUID(),
): ConversationCommand => ({
  type: 'AppendMessage',
  data: {
    messageId,
    parentMessageId,
    role,
    content: `${role} says something`,
    ...(role === 'assistant' && { modelId: 'claude-opus-4-1' }),
  },
});

export const redirect = (messageId: string): ConversationCommand => ({
  type: 'RecordRedirection',
  data: { messageId, harmCategory: 'ABUSE_OF_ASSISTANT' },
});

export const modelEnd = (atMessageId: string): ConversationCommand => ({
  type: 'EndConversation',
  data: { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId },
});

/** One process's deps: its own queue and cache; no waits between retries unless asked. */
export function processDeps(pool: Pool, more: Partial<CommandDepsOptions> = {}): ConversationCommandDeps {
  return conversationCommandDeps({
    store: new PostgresEventStore(pool),
    snapshots: new PostgresSnapshotStore(pool),
    policy: () => POLICY_V1,
    limits: { maxEvents: 1_000_000, maxBytes: 1_000_000_000 },
    content: testContentSealer(pool),
    ...more,
  });
}

export const run = (
  deps: ConversationCommandDeps,
  conversationId: string,
  command: ConversationCommand,
  more: Partial<CommandContext> = {},
) => handleConversationCommand(deps, { conversationId, command, context: context(more) });

/** Starts a conversation and writes u1 → a1 → u2 → a2 → u3 with redirections at a1 and a2; returns the ids. */
export async function abusiveThread(deps: ConversationCommandDeps, id: string): Promise<string[]> {
  await run(deps, id, start(id));
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const messageId = randomUUID();
    await run(deps, id, say(ids.at(-1) ?? null, i % 2 ? 'assistant' : 'user', messageId));
    ids.push(messageId);
  }
  for (const a of [ids[1], ids[3]]) await run(deps, id, redirect(a));
  return ids;
}

/** The stream as commands fold it (content-free), and its size, read whole. */
export async function freshFold(
  store: PostgresEventStore,
  id: string,
): Promise<{ state: ConversationState; types: string[] }> {
  const events = await store.readStream(streamIdOf(id));
  return { state: foldEvents(events.map(toCommandEvent)), types: events.map((e) => e.type) };
}
