import type { CommandOutcome } from '@app/application';
import { PostgresEventStore } from '@app/event-store';
import { ConversationCommand } from '@app/conversation';
import { fixtureDeps, runFixtureCommand } from '@app/testing';
import { uuid } from './scenario';

export interface SeededEnd {
  conversationId: string;
  tenantId: string;
  modelId?: string;
  /** ConversationStarted and the messages (ISO). */
  startedAt: string;
  /** The end, if any (ISO). */
  endedAt?: string;
  reasonCode?: 'ABUSE_OF_ASSISTANT' | 'USER_REQUESTED' | 'OPERATOR_ACTION';
  /** Messages, user and assistant by turns (odd: the last is the user's); 5 by default. */
  messages?: number;
  /** Every message's content (default: a short line naming the message). */
  content?: string;
}

/**
 * Writes a conversation the way the API does (handleConversationCommand) at fixed times, so the
 * history is compliant: u1 → a1 → u2 → a2 → u3 (or more messages), two redirections (or an end
 * request), then the end. Returns the end event id and the last command's outcome.
 */
export async function seedConversation(
  store: PostgresEventStore,
  s: SeededEnd,
): Promise<{ endEventId?: string; result: CommandOutcome }> {
  const ids = Array.from({ length: s.messages ?? 5 }, (_, i) => uuid(0x1001 + i));
  const [a1, a2, u3] = [ids[1], ids[3], ids.at(-1)!];
  const reasonCode = s.reasonCode ?? 'ABUSE_OF_ASSISTANT';
  const say = (messageId: string, parentMessageId: string | null, role: 'user' | 'assistant'): ConversationCommand => ({
    type: 'AppendMessage',
    data: { messageId, parentMessageId, role, content: s.content ?? `${role} says ${messageId.slice(-4)}` },
  });
  const commands: ConversationCommand[] = [
    {
      type: 'StartConversation',
      data: {
        conversationId: s.conversationId,
        tenantId: s.tenantId,
        subjectId: 'subject-1',
        modelId: s.modelId ?? 'claude-opus-4-1',
      },
    },
    ...ids.map((id, i) => say(id, i ? ids[i - 1] : null, i % 2 ? 'assistant' : 'user')),
  ];
  if (s.endedAt) {
    if (reasonCode === 'USER_REQUESTED') commands.push({ type: 'RequestEnd', data: { messageId: u3 } });
    else
      for (const messageId of [a1, a2])
        commands.push({ type: 'RecordRedirection', data: { messageId, harmCategory: 'ABUSE_OF_ASSISTANT' } });
    const initiator = reasonCode === 'OPERATOR_ACTION' ? 'operator' : 'model';
    const explanation = initiator === 'operator' ? 'ended under policy after review of the thread' : undefined;
    commands.push({
      type: 'EndConversation',
      data: { initiator, reasonCode, atMessageId: u3, ...(explanation && { explanation }) },
    });
  }
  let occurredAt = s.startedAt;
  const deps = fixtureDeps(store, { clock: () => new Date(occurredAt) });
  let result: CommandOutcome | undefined;
  for (const command of commands) {
    if (command.type === 'EndConversation') occurredAt = s.endedAt!;
    result = await runFixtureCommand(deps, s.conversationId, s.tenantId, command);
  }
  const last = result!.events.at(-1)!;
  if (s.endedAt && last.type !== 'ConversationEnded') {
    throw new Error(`fixture end was blocked: ${JSON.stringify(last)}`);
  }
  return { endEventId: s.endedAt ? last.eventId : undefined, result: result! };
}

/** Items of a paginated list, walked with ?limit= and ?cursor= (each page checked by the caller). */
export async function walkPages<T>(
  get: (cursor?: string) => Promise<{ status: number; body: { items: T[]; nextCursor: string | null } }>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const res = await get(cursor);
    if (res.status !== 200) throw new Error(`page ${i}: ${res.status} ${JSON.stringify(res.body)}`);
    pages.push(res.body.items);
    if (!res.body.nextCursor) return pages;
    cursor = res.body.nextCursor;
  }
  throw new Error('more than 1000 pages');
}
