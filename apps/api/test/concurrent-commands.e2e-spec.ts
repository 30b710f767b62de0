import { randomUUID } from 'node:crypto';
import { ConversationCommandDeps } from '@app/application';
import { COMMAND_DEPS } from '../src/conversations/commands/conversation-commands';
import { as, startTestApp, TestApp, versionOf } from './support/test-app';
import { Client, path, startConversation } from './support/scenario';

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const byNumber = (a: number, b: number) => a - b;

async function until(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`never: ${what}`);
}

/** Commands on one conversation run one at a time in a process: concurrent callers never fail each other. */
describe('Concurrent commands on one conversation', () => {
  let t: TestApp;
  let writer: Client;
  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
  });
  afterAll(() => t.close());

  const message = (id: string, i: number, headers: Record<string, string> = {}) =>
    writer.post(path(id, '/messages'), { parentMessageId: null, role: 'user', content: `message ${i}` }, headers);

  it.each([50, 200])(
    'answers %i concurrent messages without If-Match all 201, at versions 2..n+1, each once',
    async (n) => {
      const id = randomUUID();
      await startConversation(writer, id);
      const answers = await Promise.all(range(0, n).map((i) => message(id, i)));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
      expect(answers.map((a) => a.body.version).sort(byNumber)).toEqual(range(2, n));
      expect(answers.map((a) => a.headers.etag)).toEqual(answers.map((a) => `"${a.body.version}"`));
      expect(await versionOf(t, id)).toBe(n + 1);
      // Snapshotted every 100 events, by the runtime login (a refused write would only be logged).
      await t.app.get<ConversationCommandDeps>(COMMAND_DEPS).states.flush();
      const snapshots = 'SELECT version::int AS v FROM es_snapshots WHERE stream_id = $1';
      const { rows } = await t.db.pool.query(snapshots, [`conversation-${id}`]);
      expect(rows).toEqual(n >= 100 ? [{ v: Math.floor((n + 1) / 100) * 100 }] : []);
    },
  );

  it('answers 50 concurrent retries under one Idempotency-Key alike, appending once', async () => {
    const id = randomUUID();
    await startConversation(writer, id);
    const key = { 'Idempotency-Key': `retry-${id}` };
    const body = { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'sent once, retried' };
    const answers = await Promise.all(range(0, 50).map(() => writer.post(path(id, '/messages'), body, key)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    expect(new Set(answers.map((a) => JSON.stringify(a.body)))).toEqual(new Set([JSON.stringify(answers[0].body)]));
    expect(answers[0].body).toMatchObject({ messageId: body.messageId, version: 2 });
    expect(await versionOf(t, id)).toBe(2);
  });

  it("answers 50 concurrent commands of another tenant's key (any letter case) 404, appending nothing", async () => {
    const id = randomUUID();
    await startConversation(writer, id);
    const stranger = as(t, await t.key('writer', 'other'));
    const ids = range(0, 50).map((i) => (i % 2 ? id.toUpperCase() : id));
    const answers = await Promise.all(
      ids.map((cid, i) =>
        stranger.post(path(cid, '/messages'), { parentMessageId: null, role: 'user', content: `x${i}` }),
      ),
    );
    expect(answers.map((a) => [a.status, a.body.code])).toEqual(answers.map(() => [404, 'NOT_FOUND']));
    expect(await versionOf(t, id)).toBe(1);
  });

  it('answers a stale If-Match 412 with the current version: of 20 at once on version 1, one is appended', async () => {
    const id = randomUUID();
    await startConversation(writer, id);
    const answers = await Promise.all(range(0, 20).map((i) => message(id, i, { 'If-Match': '"1"' })));
    expect(answers.map((a) => a.status).sort(byNumber)).toEqual([201, ...range(0, 19).map(() => 412)]);
    for (const a of answers.filter((x) => x.status === 412))
      expect(a.body).toMatchObject({ code: 'VERSION_CONFLICT', currentVersion: 2 });
    expect(await versionOf(t, id)).toBe(2);
  });
});

describe('A full command queue', () => {
  let t: TestApp;
  let writer: Client;
  beforeAll(async () => {
    t = await startTestApp({ COMMAND_QUEUE_PER_CONVERSATION: '2' });
    writer = as(t, await t.key('writer', 'acme'));
  });
  afterAll(() => t.close());

  it('answers 503 CONVERSATION_BUSY with Retry-After, and appends nothing for the refused request', async () => {
    const id = randomUUID();
    await startConversation(writer, id);
    const queue = t.app.get<ConversationCommandDeps>(COMMAND_DEPS).queue;
    // The stream's head locked: the first message waits in its append, holding the queue.
    const lock = await t.db.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM es_streams WHERE stream_id = $1 FOR UPDATE', [`conversation-${id}`]);
      // .then sends the request now (supertest sends on then or end)
      const send = (i: number) =>
        writer.post(path(id, '/messages'), { parentMessageId: null, role: 'user', content: `m${i}` }).then((r) => r);
      const first = send(1);
      await until('the first message is queued', () => queue.sizeOf(id) === 1);
      const second = send(2);
      await until('the second message is queued', () => queue.sizeOf(id) === 2);
      const refused = await send(3);
      expect(refused.status).toBe(503);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toMatchObject({ status: 503, code: 'CONVERSATION_BUSY' });
      await lock.query('ROLLBACK');
      expect([(await first).status, (await second).status]).toEqual([201, 201]);
    } finally {
      lock.release();
    }
    expect(await versionOf(t, id)).toBe(3);
    expect(queue.activeKeys).toBe(0);
  });

  it("answers another tenant's starts with the conversation's id (any case) 409 before they queue", async () => {
    const id = randomUUID();
    await startConversation(writer, id);
    const stranger = as(t, await t.key('writer', 'globex'));
    const queue = t.app.get<ConversationCommandDeps>(COMMAND_DEPS).queue;
    const lock = await t.db.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM es_streams WHERE stream_id = $1 FOR UPDATE', [`conversation-${id}`]);
      const first = writer
        .post(path(id, '/messages'), { parentMessageId: null, role: 'user', content: 'm' })
        .then((r) => r);
      await until('the owner’s message is queued', () => queue.sizeOf(id) === 1);
      // Answered while the owner's message still holds the queue: they never joined it.
      const starts = await Promise.all(
        [id, id.toUpperCase(), id, id.toUpperCase(), id].map((conversationId) =>
          stranger
            .post('/v1/conversations', { conversationId, subjectId: 's', modelId: 'claude-opus-4-1' })
            .then((r) => r),
        ),
      );
      expect(starts.map((r) => [r.status, r.body.code])).toEqual(Array(5).fill([409, 'CONVERSATION_EXISTS']));
      expect(queue.sizeOf(id)).toBe(1);
      await lock.query('ROLLBACK');
      expect((await first).status).toBe(201);
    } finally {
      lock.release();
    }
    expect(await versionOf(t, id)).toBe(2);
  });
});
