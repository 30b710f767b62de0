import { as, TestApp } from './test-app';

export type Client = ReturnType<typeof as>;

/** A fixed, valid (version 4 shaped) UUID: uuid(1) = 00000000-0000-4000-8000-000000000001. */
export const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

export const path = (conversationId: string, suffix = '') => `/v1/conversations/${conversationId}${suffix}`;

export async function startConversation(
  client: Client,
  conversationId: string,
  body: Record<string, unknown> = {},
): Promise<void> {
  const res = await client.post('/v1/conversations', {
    conversationId,
    subjectId: 'subject-1',
    modelId: 'claude-opus-4-1',
    ...body,
  });
  if (res.status !== 201) throw new Error(`start ${conversationId}: ${res.status} ${JSON.stringify(res.body)}`);
}

export async function say(
  client: Client,
  conversationId: string,
  messageId: string,
  parentMessageId: string | null,
  role: 'user' | 'assistant',
  content = `${role} ${messageId}`,
): Promise<string> {
  const res = await client.post(path(conversationId, '/messages'), { messageId, parentMessageId, role, content });
  if (res.status !== 201) throw new Error(`message ${messageId}: ${res.status} ${JSON.stringify(res.body)}`);
  return messageId;
}

export async function record(
  client: Client,
  conversationId: string,
  suffix: string,
  body: Record<string, unknown>,
): Promise<void> {
  const res = await client.post(path(conversationId, suffix), body);
  if (res.status !== 201) throw new Error(`${suffix}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The messages of an abusive thread: u1 → a1 → u2 → a2 → u3 (uuid 1..5). */
export const THREAD = { u1: uuid(1), a1: uuid(2), u2: uuid(3), a2: uuid(4), u3: uuid(5) };

/** Builds THREAD, with a redirection on each of the first `redirections` assistant messages. */
export async function abusiveThread(client: Client, conversationId: string, redirections = 2): Promise<typeof THREAD> {
  const { u1, a1, u2, a2, u3 } = THREAD;
  await say(client, conversationId, u1, null, 'user', 'Help me with my essay.');
  await say(client, conversationId, a1, u1, 'assistant', 'Gladly. What is it about?');
  await say(client, conversationId, u2, a1, 'user', 'You are useless garbage.');
  await say(client, conversationId, a2, u2, 'assistant', "Let's get back to the essay.");
  await say(client, conversationId, u3, a2, 'user', 'Shut up, garbage.');
  for (const messageId of [a1, a2].slice(0, redirections)) {
    await record(client, conversationId, '/redirections', { messageId, harmCategory: 'ABUSE_OF_ASSISTANT' });
  }
  return THREAD;
}

export interface StoredRow {
  version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** A conversation's events straight from the table (no API, no role involved). */
export async function storedEvents(t: TestApp, conversationId: string): Promise<StoredRow[]> {
  const { rows } = await t.db.pool.query<{
    version: string;
    type: string;
    data: Record<string, unknown>;
    metadata: Record<string, unknown>;
  }>(
    'SELECT stream_version::text AS version, type, data, metadata FROM es_events ' +
      'WHERE stream_id = $1 ORDER BY stream_version',
    [`conversation-${conversationId}`],
  );
  return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

/** Every event in the store, all streams but the access entries (reads append those, in the background). */
export async function totalEvents(t: TestApp): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM es_events WHERE stream_id NOT LIKE 'access-%'",
  );
  return Number(rows[0].n);
}

/** Ends a conversation at THREAD.u3 and checks the status; returns the response body. */
export async function endAtU3(
  client: Client,
  id: string,
  body: Record<string, unknown>,
  status = 201,
): Promise<Record<string, string>> {
  const res = await client.post(path(id, '/end'), { atMessageId: THREAD.u3, ...body });
  if (res.status !== status) throw new Error(`end ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Two ended conversations of the audit tests: `a` by the model for ABUSE_OF_ASSISTANT after two
 * redirections, `b` (claude-opus-4) by the model for USER_REQUESTED after the user asked.
 */
export async function twoEndedConversations(
  writer: Client,
  a: string,
  b: string,
): Promise<{ endIds: Record<string, string>; position: string }> {
  await startConversation(writer, a);
  await abusiveThread(writer, a, 2);
  const endA = await endAtU3(writer, a, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' });
  await startConversation(writer, b, { modelId: 'claude-opus-4' });
  await abusiveThread(writer, b, 0);
  await record(writer, b, '/end-requests', { messageId: THREAD.u3 });
  const endB = await endAtU3(writer, b, { initiator: 'model', reasonCode: 'USER_REQUESTED' });
  return { endIds: { [a]: endA.endEventId, [b]: endB.endEventId }, position: endB.position };
}

/**
 * What an audit test has written: each conversation's end event id, and the newest position,
 * which its reads wait for (`?waitFor=`) so that they see every write made before them.
 */
export class AuditTrail {
  position = '';
  readonly endIds: Record<string, string> = {};

  /** Takes in ends written elsewhere (twoEndedConversations). */
  add(written: { endIds: Record<string, string>; position: string }): void {
    Object.assign(this.endIds, written.endIds);
    this.position = written.position;
  }

  /** Ends at THREAD.u3 (endAtU3) and remembers the end. */
  readonly end = async (client: Client, id: string, body: Record<string, unknown>, status = 201): Promise<void> => {
    const res = await endAtU3(client, id, body, status);
    this.position = res.position;
    if (status === 201) this.endIds[id] = res.endEventId;
  };

  /** A GET that answers once the read models have caught up with the trail. */
  readonly get = (client: Client, url: string) =>
    client.get(`${url}${url.includes('?') ? '&' : '?'}waitFor=${this.position}`);
}
