import { type ConversationServiceClient, isProblem } from '@app/client';

/**
 * Start a conversation, post messages, try to end it too early (END_BLOCKED names the failed
 * guards), record the redirections the policy asks for, end it, and see a reply below the end
 * point refused (LINEAGE_ENDED). Returns what happened, for the caller to log.
 */
export async function endAConversation(client: ConversationServiceClient, subjectId: string) {
  const started = await client.POST('/v1/conversations', { body: { subjectId, modelId: 'claude-opus-4-1' } });
  if (started.error) throw new Error(`not started: ${started.error.code}: ${started.error.detail}`);
  const params = { path: { id: started.data.conversationId! } };

  // Each message names its parent (null: a root); the service gives back its id.
  const say = async (parentMessageId: string | null, role: 'user' | 'assistant', content: string) => {
    const { data, error } = await client.POST('/v1/conversations/{id}/messages', {
      params,
      body: { parentMessageId, role, content },
    });
    if (error) throw new Error(`message refused: ${error.code}: ${error.detail}`);
    return data.messageId!;
  };
  const u1 = await say(null, 'user', 'Help me with my essay.');
  const a1 = await say(u1, 'assistant', 'Gladly. What is it about?');
  const u2 = await say(a1, 'user', 'You are useless garbage.');

  // Too early: the policy wants failed redirections first. The attempt is recorded all the same.
  const early = await client.POST('/v1/conversations/{id}/end', {
    params,
    body: { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: u2 },
  });
  // The error is typed per route: the end's 409 END_BLOCKED carries the guards that failed.
  if (early.error?.code !== 'END_BLOCKED' || !('failedGuards' in early.error)) throw new Error('expected END_BLOCKED');
  const failedGuards = early.error.failedGuards; // e.g. ['INSUFFICIENT_REDIRECTION']

  // Redirect twice, then end.
  const a2 = await say(u2, 'assistant', "Let's get back to the essay.");
  const u3 = await say(a2, 'user', 'Shut up, garbage.');
  for (const messageId of [a1, a2]) {
    const { error } = await client.POST('/v1/conversations/{id}/redirections', {
      params,
      body: { messageId, harmCategory: 'ABUSE_OF_ASSISTANT' },
    });
    if (error) throw new Error(`redirection refused: ${error.code}`);
  }
  const ended = await client.POST('/v1/conversations/{id}/end', {
    params,
    body: { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: u3 },
  });
  if (ended.error) throw new Error(`end refused: ${ended.error.code}`);

  // The ended lineage takes no more messages; a parent above the end point starts a new branch.
  const reply = await client.POST('/v1/conversations/{id}/messages', {
    params,
    body: { parentMessageId: u3, role: 'assistant', content: 'Goodbye.' },
  });
  const lineageEnded = isProblem(reply.error, 'LINEAGE_ENDED');

  return { conversationId: params.path.id, failedGuards, endEventId: ended.data.endEventId!, lineageEnded };
}
