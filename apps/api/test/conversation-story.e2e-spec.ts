import { as, startTestApp, TestApp, versionOf } from './support/test-app';

/**
 * The story the product exists for: an abusive conversation, a refused premature end that is
 * nevertheless recorded, redirections, the end, a refused reply, an edit that opens a new
 * branch, and that branch ended in its turn.
 */
describe('A conversation that turns abusive', () => {
  let t: TestApp;
  let writer: ReturnType<typeof as>;
  let auditor: ReturnType<typeof as>;
  let id: string;
  const path = (suffix = '') => `/v1/conversations/${id}${suffix}`;

  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
    auditor = as(t, await t.key('auditor', 'acme'));
  });
  afterAll(() => t.close());

  const say = async (parentMessageId: string | null, role: 'user' | 'assistant', content: string) => {
    const res = await writer.post(path('/messages'), { parentMessageId, role, content });
    expect(res.status).toBe(201);
    return res.body.messageId as string;
  };

  it('runs from a blocked end to a second end on a new branch', async () => {
    const started = await writer.post('/v1/conversations', { subjectId: 'subject-1', modelId: 'claude-opus-4-1' });
    expect(started.status).toBe(201);
    expect(started.headers.etag).toBe('"1"');
    id = started.body.conversationId;

    const u1 = await say(null, 'user', 'Can you help me plan a trip?');
    const a1 = await say(u1, 'assistant', 'Of course. Where to?');
    const u2 = await say(a1, 'user', 'You are worthless garbage.');
    const a2 = await say(u2, 'assistant', "I'd like to keep helping with your trip. Where would you like to go?");
    const u3 = await say(a2, 'user', 'Shut up, worthless machine.');

    // An end without redirections is blocked, and the attempt is on the record.
    const blocked = await writer.post(path('/end'), {
      initiator: 'model',
      reasonCode: 'ABUSE_OF_ASSISTANT',
      atMessageId: u3,
    });
    expect(blocked.status).toBe(409);
    expect(blocked.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(blocked.body).toMatchObject({ code: 'END_BLOCKED', failedGuards: ['INSUFFICIENT_REDIRECTION'] });
    const events = await auditor.get(path('/events?limit=500'));
    expect(events.body.items.at(-1)).toMatchObject({
      type: 'EndAttemptBlocked',
      data: { failedGuards: ['INSUFFICIENT_REDIRECTION'], proposedReasonCode: 'ABUSE_OF_ASSISTANT', policyVersion: 1 },
    });

    // Two redirections on this lineage, then the end goes through.
    expect(
      (await writer.post(path('/redirections'), { messageId: a2, harmCategory: 'ABUSE_OF_ASSISTANT' })).status,
    ).toBe(201);
    const a3 = await say(u3, 'assistant', 'I want to help, but I need us to keep this respectful.');
    expect(
      (await writer.post(path('/redirections'), { messageId: a3, harmCategory: 'ABUSE_OF_ASSISTANT' })).status,
    ).toBe(201);
    const u4 = await say(a3, 'user', 'More insults.');
    const ended = await writer.post(path('/end'), {
      initiator: 'model',
      reasonCode: 'ABUSE_OF_ASSISTANT',
      atMessageId: u4,
      evidenceMessageIds: [u2, u3, u4],
    });
    expect(ended.status).toBe(201);
    expect(ended.body).toMatchObject({ endEventId: expect.any(String), version: await versionOf(t, id) });
    const afterEnd = await writer.get(path());
    expect(afterEnd.body).toMatchObject({
      status: 'ended',
      redirectionCount: 2,
      ends: [
        {
          endEventId: ended.body.endEventId,
          reasonCode: 'ABUSE_OF_ASSISTANT',
          initiator: 'model',
          endedAtMessageId: u4,
          reviewOutcome: null,
        },
      ],
    });

    // No reply on the ended lineage, and nothing is appended by trying.
    const before = await versionOf(t, id);
    const refused = await writer.post(path('/messages'), {
      parentMessageId: u4,
      role: 'assistant',
      content: 'one more thing',
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('LINEAGE_ENDED');
    expect(await versionOf(t, id)).toBe(before);

    // The person edits an earlier message: a new, active branch.
    const edited = await say(a1, 'user', 'Sorry. Somewhere warm in March, please.');
    const branch = await writer.get(path());
    expect(branch.body).toMatchObject({ status: 'active', activeLeafMessageId: edited, branchCount: 2 });
    const lineage = await writer.get(path('/messages'));
    expect(lineage.body.items.map((m: { messageId: string }) => m.messageId)).toEqual([u1, a1, edited]);
    const oldLineage = await writer.get(path(`/messages?leaf=${u4}`));
    expect(oldLineage.body.items.map((m: { messageId: string }) => m.messageId)).toEqual([u1, a1, u2, a2, u3, a3, u4]);

    // The new branch can itself be ended, in its turn, under the same rules.
    const b1 = await say(edited, 'assistant', 'Lisbon is lovely in March.');
    const b2 = await say(b1, 'user', 'Useless, as always, you idiot.');
    const b3 = await say(b2, 'assistant', "Let's get back to your trip: Lisbon or Seville?");
    expect(
      (await writer.post(path('/end'), { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: b2 })).body
        .failedGuards,
    ).toEqual(['INSUFFICIENT_REDIRECTION']);
    await writer.post(path('/redirections'), { messageId: b1, harmCategory: 'ABUSE_OF_ASSISTANT' });
    await writer.post(path('/redirections'), { messageId: b3, harmCategory: 'ABUSE_OF_ASSISTANT' });
    const b4 = await say(b3, 'user', 'Idiot.');
    const second = await writer.post(path('/end'), {
      initiator: 'model',
      reasonCode: 'ABUSE_OF_ASSISTANT',
      atMessageId: b4,
    });
    expect(second.status).toBe(201);
    const final = await writer.get(path());
    expect(final.body.status).toBe('ended');
    expect(final.body.ends.map((e: { endedAtMessageId: string }) => e.endedAtMessageId)).toEqual([u4, b4]);

    // The past is still answerable: as of the first end, one end and an ended thread.
    const asOf = await writer.get(path(`?asOfVersion=${ended.body.version}`));
    expect(asOf.body).toMatchObject({ status: 'ended', version: ended.body.version, ends: [{ endedAtMessageId: u4 }] });

    // The whole tree pages with limit and cursor, in append order, without gaps or repeats.
    const page1 = await writer.get(path('/messages?tree=true&limit=5'));
    const page2 = await writer.get(path(`/messages?tree=true&limit=5&cursor=${page1.body.nextCursor}`));
    const page3 = await writer.get(path(`/messages?tree=true&limit=5&cursor=${page2.body.nextCursor}`));
    const paged = [...page1.body.items, ...page2.body.items, ...page3.body.items].map(
      (m: { messageId: string }) => m.messageId,
    );
    expect(paged).toEqual([u1, a1, u2, a2, u3, a3, u4, edited, b1, b2, b3, b4]);
    expect(page3.body.nextCursor).toBeNull();

    // And the record verifies.
    const all = await auditor.get(path('/events?limit=500'));
    expect(all.body.items.map((e: { version: number }) => e.version)).toEqual(
      Array.from({ length: final.body.version }, (_, i) => i + 1),
    );
  });
});
