import { as, startTestApp, TestApp } from './support/test-app';
import { Client, path, record, say, totalEvents } from './support/scenario';

/** Ids with letters, so that their upper case differs. */
const id = (n: number) => `abcdef00-0000-4abc-8def-${n.toString(16).padStart(12, '0')}`;
const mixed = (uuid: string) => uuid.replace(/[a-f]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c));
const B = id(0xb); // tenant B's conversation
const [U1, A1, U2, A2, U3] = [1, 2, 3, 4, 5].map((n) => id(0xb00 + n));
const SECRET = "tenant B's secret";
const LOWER_STREAM = /^conversation-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every UUID-shaped string in a JSON answer. */
const uuidsIn = (body: unknown): string[] =>
  JSON.stringify(body).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi) ?? [];
const expectLowerCaseIds = (body: unknown) => expect(uuidsIn(body).filter((u) => u !== u.toLowerCase())).toEqual([]);
/** The NDJSON export as text, whatever supertest makes of its content type. */
const ndjson = (res: unknown, done: (err: Error | null, body: string) => void) => {
  const chunks: Buffer[] = [];
  const stream = res as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
};

/**
 * CONTRACT.md "Trust boundary", Ids; issue 9 section 1. Tenant A names tenant B's conversation
 * in upper (or mixed) case: before, that was a new stream `conversation-ABC…`, folded by the
 * uuid read models into B's conversation, and A's audit export then carried B's messages.
 * Each step of that attack, in order; each must be refused and leave B's conversation whole.
 */
describe('Ids in any letter case: tenant A naming tenant B’s conversation', () => {
  let t: TestApp;
  let writerA: Client;
  let auditorA: Client;
  let writerB: Client;
  let auditorB: Client;
  let position: string;
  const waitFor = (url: string) => `${url}${url.includes('?') ? '&' : '?'}waitFor=${position}`;
  const streamsNamed = async (conversationId: string) =>
    (
      await t.db.pool.query<{ stream_id: string }>(
        'SELECT stream_id FROM es_streams WHERE lower(stream_id) = lower($1)',
        [`conversation-${conversationId}`],
      )
    ).rows.map((r) => r.stream_id);

  beforeAll(async () => {
    t = await startTestApp();
    writerA = as(t, await t.key('writer', 'tenant-a'));
    auditorA = as(t, await t.key('auditor', 'tenant-a'));
    writerB = as(t, await t.key('writer', 'tenant-b'));
    auditorB = as(t, await t.key('auditor', 'tenant-b'));
    expect(
      (await writerB.post('/v1/conversations', { conversationId: B, subjectId: 's-b', modelId: 'claude-opus-4-1' }))
        .status,
    ).toBe(201);
    await say(writerB, B, U1, null, 'user', `${SECRET}: hello`);
    await say(writerB, B, A1, U1, 'assistant', `${SECRET}: hi`);
    await say(writerB, B, U2, A1, 'user', `${SECRET}: you are useless`);
    await say(writerB, B, A2, U2, 'assistant', `${SECRET}: back to work`);
    await say(writerB, B, U3, A2, 'user', `${SECRET}: shut up`);
    for (const messageId of [A1, A2])
      await record(writerB, B, '/redirections', { messageId, harmCategory: 'ABUSE_OF_ASSISTANT' });
    const end = await writerB.post(path(B, '/end'), {
      initiator: 'model',
      reasonCode: 'ABUSE_OF_ASSISTANT',
      atMessageId: U3,
    });
    expect(end.status).toBe(201);
    position = end.body.position;
  });
  afterAll(() => t.close());

  it.each([
    ['upper case', B.toUpperCase()],
    ['mixed case', mixed(B)],
  ])('refuses starting it in %s: 409, and appends nothing', async (_, spelled) => {
    const before = await totalEvents(t);
    const res = await writerA.post('/v1/conversations', {
      conversationId: spelled,
      subjectId: 's-a',
      modelId: 'claude-opus-4-1',
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'CONVERSATION_EXISTS' });
    expect(await totalEvents(t)).toBe(before);
    expect(await streamsNamed(B)).toEqual([`conversation-${B}`]);
  });

  // The attacker's own thread on the upper-case stream, as it went before: five messages, two
  // redirections, then an end, which put B's conversation into A's read models and export.
  const [a1, a2, a3, a4, a5] = [1, 2, 3, 4, 5].map((n) => id(0xa00 + n).toUpperCase());
  const ATTACK_THREAD: [string, string | null, 'user' | 'assistant'][] = [
    [a1, null, 'user'],
    [a2, a1, 'assistant'],
    [a3, a2, 'user'],
    [a4, a3, 'assistant'],
    [a5, a4, 'user'],
  ];

  it(
    'refuses messages and redirections on it through an upper-case path, ' +
      'parentMessageId in upper case too: 404, nothing appended',
    async () => {
      const before = await totalEvents(t);
      const statuses: number[] = [];
      for (const [messageId, parentMessageId, role] of ATTACK_THREAD) {
        const res = await writerA.post(path(B.toUpperCase(), '/messages'), {
          messageId,
          parentMessageId,
          role,
          content: `A says ${messageId}`,
        });
        statuses.push(res.status);
      }
      statuses.push(
        (
          await writerA.post(path(mixed(B), '/messages'), {
            parentMessageId: U3.toUpperCase(),
            role: 'user',
            content: 'A, on B’s thread',
          })
        ).status,
      );
      for (const messageId of [a2, a4]) {
        statuses.push(
          (
            await writerA.post(path(B.toUpperCase(), '/redirections'), {
              messageId,
              harmCategory: 'ABUSE_OF_ASSISTANT',
            })
          ).status,
        );
      }
      expect(statuses).toEqual(Array(8).fill(404));
      expect(await totalEvents(t)).toBe(before);
      expect(await streamsNamed(B)).toEqual([`conversation-${B}`]);
    },
  );

  it('refuses an end on it with atMessageId and evidenceMessageIds in upper case: 404, nothing appended', async () => {
    const before = await totalEvents(t);
    for (const [atMessageId, evidenceMessageIds] of [
      [a5, [a3, a5]],
      [U3.toUpperCase(), [U2.toUpperCase()]],
    ] as const) {
      const res = await writerA.post(path(B.toUpperCase(), '/end'), {
        initiator: 'model',
        reasonCode: 'ABUSE_OF_ASSISTANT',
        atMessageId,
        evidenceMessageIds,
      });
      expect(res.status).toBe(404);
      if (res.body.position) position = res.body.position;
    }
    expect(await totalEvents(t)).toBe(before);
  });

  it('shows tenant A nothing of it: status, messages?leaf=, events and timeline in any case are 404', async () => {
    for (const spelled of [B, B.toUpperCase(), mixed(B)]) {
      expect((await writerA.get(waitFor(path(spelled)))).status).toBe(404);
      expect((await writerA.get(waitFor(path(spelled, `/messages?leaf=${U3.toUpperCase()}`)))).status).toBe(404);
      expect((await auditorA.get(waitFor(path(spelled, '/events')))).status).toBe(404);
      expect((await auditorA.get(waitFor(`/v1/audit/conversations/${spelled}/timeline`))).status).toBe(404);
    }
  });

  it('answers tenant B its own conversation, named in any case, with lower-case ids only', async () => {
    const status = await writerB.get(waitFor(path(B.toUpperCase())));
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      conversationId: B,
      tenantId: 'tenant-b',
      status: 'ended',
      messageCount: 5,
      activeLeafMessageId: U3,
    });
    expect(status.body.ends.map((e: { endedAtMessageId: string }) => e.endedAtMessageId)).toEqual([U3]);
    const lineage = await writerB.get(waitFor(path(mixed(B), `/messages?leaf=${A2.toUpperCase()}`)));
    expect(lineage.status).toBe(200);
    expect(lineage.body.items.map((m: { messageId: string }) => m.messageId)).toEqual([U1, A1, U2, A2]);
    const events = await auditorB.get(waitFor(path(B.toUpperCase(), '/events')));
    expect(events.status).toBe(200);
    expect(new Set(events.body.items.map((e: { streamId: string }) => e.streamId))).toEqual(
      new Set([`conversation-${B}`]),
    );
    const timeline = await auditorB.get(waitFor(`/v1/audit/conversations/${B.toUpperCase()}/timeline`));
    expect(timeline.status).toBe(200);
    expect(timeline.body).toMatchObject({ conversationId: B, chain: { valid: true } });
    expect(timeline.body.events).toHaveLength(9);
    for (const body of [status.body, lineage.body, events.body, timeline.body]) expectLowerCaseIds(body);
  });

  it("exports to tenant A's auditor nothing of tenant B's conversation, and to B's all of it", async () => {
    const toA = await auditorA.get(waitFor('/v1/audit/export')).buffer(true).parse(ndjson);
    expect(toA.status).toBe(200);
    expect(toA.body).toContain('"type":"manifest"');
    expect(toA.body).not.toContain(SECRET);
    expect(toA.body.toLowerCase()).not.toContain(B);
    const toB = await auditorB.get(waitFor('/v1/audit/export')).buffer(true).parse(ndjson);
    expect(toB.status).toBe(200);
    const lines = (toB.body as string)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['end', 'manifest']);
    expect(lines[0].end.conversationId).toBe(B);
    expect(lines[0].events).toHaveLength(9);
    expectLowerCaseIds(lines);
  });

  it(
    "keeps tenant B's conversation out of tenant A's ends and events feed; " + 'every stream id there is lower case',
    async () => {
      const ends = await auditorA.get(waitFor('/v1/audit/ends'));
      expect(ends.status).toBe(200);
      expect(ends.body.items.map((e: { conversationId: string }) => e.conversationId)).not.toContain(B);
      const feed = await auditorA.get(waitFor('/v1/events?limit=500'));
      expect(feed.status).toBe(200);
      const streams = feed.body.items.map((e: { streamId: string }) => e.streamId);
      expect(streams.filter((s: string) => s.toLowerCase() === `conversation-${B}`)).toEqual([]);
      const all = await as(t, await t.key('auditor', '*')).get(waitFor('/v1/events?limit=500'));
      expect(all.body.items.length).toBeGreaterThan(0);
      for (const e of all.body.items as { streamId: string }[])
        if (e.streamId.startsWith('conversation-')) expect(e.streamId).toMatch(LOWER_STREAM);
    },
  );
});
