import { as, startTestApp, TestApp } from './support/test-app';
import { Client, path, storedEvents, totalEvents } from './support/scenario';

/** Ids with letters, so that their upper case differs. */
const id = (n: number) => `0fedcba0-0000-4abc-8def-${n.toString(16).padStart(12, '0')}`;
const UP = (uuid: string) => uuid.toUpperCase();
const GOOD = id(0x99);

/** Every UUID-shaped string in a value. */
const uuidsIn = (value: unknown): string[] =>
  JSON.stringify(value).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi) ?? [];
const upperCaseIds = (value: unknown) => uuidsIn(value).filter((u) => u !== u.toLowerCase());

/**
 * CONTRACT.md "Trust boundary", Ids: a caller's own ids in any letter case are stored and
 * answered in lower case, one request whatever the case under one Idempotency-Key; anything that
 * is not an RFC 9562 UUID (versions 1-8, Nil, Max) in its hyphenated form is a 400.
 */
describe('Ids in any letter case: a caller’s own ids', () => {
  let t: TestApp;
  let writer: Client;
  let operator: Client;
  let auditor: Client;

  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
    operator = as(t, await t.key('operator', 'acme'));
    auditor = as(t, await t.key('auditor', 'acme'));
  });
  afterAll(() => t.close());

  it(
    'stores and answers lower case what start, message, ' +
      'redirection, end, review, flag and fork name in upper case',
    async () => {
      const c = id(1);
      const [u1, a1, u2, a2, u3] = [1, 2, 3, 4, 5].map((n) => id(0x100 + n));
      const start = await writer.post('/v1/conversations', {
        conversationId: UP(c),
        subjectId: 's-1',
        modelId: 'claude-opus-4-1',
      });
      expect(start.status).toBe(201);
      expect(start.body.conversationId).toBe(c);
      const thread: [string, string | null, string][] = [
        [u1, null, 'user'],
        [a1, u1, 'assistant'],
        [u2, a1, 'user'],
        [a2, u2, 'assistant'],
        [u3, a2, 'user'],
      ];
      for (const [messageId, parent, role] of thread) {
        const res = await writer.post(path(UP(c), '/messages'), {
          messageId: UP(messageId),
          parentMessageId: parent && UP(parent),
          role,
          content: 'x',
        });
        expect([res.status, res.body.messageId]).toEqual([201, messageId]);
      }
      for (const messageId of [a1, a2]) {
        expect(
          (
            await writer.post(path(UP(c), '/redirections'), {
              messageId: UP(messageId),
              harmCategory: 'ABUSE_OF_ASSISTANT',
            })
          ).status,
        ).toBe(201);
      }
      const flag = await operator.post(path(UP(c), '/risk-flags'), {
        flagId: UP(id(0xf1)),
        kind: 'harm_to_others',
        source: 'operator',
      });
      expect([flag.status, flag.body.flagId]).toEqual([201, id(0xf1)]);
      expect((await operator.post(path(UP(c), `/risk-flags/${UP(id(0xf1))}/clear`), {})).status).toBe(201);
      const end = await writer.post(path(UP(c), '/end'), {
        initiator: 'model',
        reasonCode: 'ABUSE_OF_ASSISTANT',
        atMessageId: UP(u3),
        evidenceMessageIds: [UP(u2), UP(u3)],
      });
      expect(end.status).toBe(201);
      const review = await auditor.post(`/v1/audit/conversations/${UP(c)}/reviews`, {
        endEventId: UP(end.body.endEventId),
        outcome: 'upheld',
      });
      expect(review.status).toBe(201);
      const fork = await writer.post('/v1/conversations', {
        conversationId: UP(id(2)),
        subjectId: 's-1',
        modelId: 'claude-opus-4-1',
        forkedFrom: { conversationId: UP(c), messageId: UP(u2) },
      });
      expect([fork.status, fork.body.conversationId]).toEqual([201, id(2)]);

      const stored = [...(await storedEvents(t, c)), ...(await storedEvents(t, id(2)))];
      expect(stored.map((e) => e.type)).toEqual([
        'ConversationStarted',
        ...Array(5).fill('MessageAppended'),
        'RedirectionAttempted',
        'RedirectionAttempted',
        'SafetyRiskFlagged',
        'SafetyRiskCleared',
        'ConversationEnded',
        'EndDecisionReviewed',
        'ConversationStarted',
      ]);
      expect(stored.find((e) => e.type === 'ConversationEnded')!.data).toMatchObject({
        endedAtMessageId: u3,
        evidenceMessageIds: [u2, u3],
      });
      expect(stored.at(-1)!.data).toMatchObject({ forkedFrom: { conversationId: c, messageId: u2 } });
      expect(upperCaseIds(stored.map((e) => e.data))).toEqual([]);

      const lineage = await writer.get(path(UP(c), `/messages?leaf=${UP(a2)}`));
      expect(lineage.body.items.map((m: { messageId: string }) => m.messageId)).toEqual([u1, a1, u2, a2]);
      const status = await writer.get(path(UP(c)));
      expect(status.body).toMatchObject({ conversationId: c, activeLeafMessageId: u3, status: 'ended' });
      for (const body of [lineage.body, status.body]) expect(upperCaseIds(body)).toEqual([]);
    },
  );

  it(
    'treats ABC… and abc… under one Idempotency-Key as one request: ' + 'the first answer again, nothing appended',
    async () => {
      const c = id(3);
      const start = { subjectId: 's-1', modelId: 'claude-opus-4-1' };
      const first = await writer.post(
        '/v1/conversations',
        { ...start, conversationId: UP(c) },
        { 'Idempotency-Key': 'start-3' },
      );
      expect(first.status).toBe(201);
      const before = await totalEvents(t);
      const again = await writer.post(
        '/v1/conversations',
        { ...start, conversationId: c },
        { 'Idempotency-Key': 'start-3' },
      );
      expect([again.status, again.body]).toEqual([201, first.body]);

      const message = (messageId: string) => ({ messageId, parentMessageId: null, role: 'user', content: 'hi' });
      const m1 = await writer.post(path(c, '/messages'), message(UP(id(0x301))), { 'Idempotency-Key': 'msg-3' });
      expect(m1.status).toBe(201);
      for (const [conversation, messageId] of [
        [UP(c), id(0x301)],
        [c, UP(id(0x301))],
        [UP(c), UP(id(0x301))],
      ]) {
        const replay = await writer.post(path(conversation, '/messages'), message(messageId), {
          'Idempotency-Key': 'msg-3',
        });
        expect([replay.status, replay.body]).toEqual([201, m1.body]);
      }
      const reply = { messageId: id(0x302), parentMessageId: UP(id(0x301)), role: 'assistant', content: 'hello' };
      const r1 = await writer.post(path(UP(c), '/messages'), reply, { 'Idempotency-Key': 'msg-4' });
      const r2 = await writer.post(
        path(c, '/messages'),
        { ...reply, messageId: UP(reply.messageId), parentMessageId: id(0x301) },
        { 'Idempotency-Key': 'msg-4' },
      );
      expect([r1.status, r2.status, r2.body]).toEqual([201, 201, r1.body]);
      expect(await totalEvents(t)).toBe(before + 2);
      // Another request under the key is still refused.
      const other = await writer.post(
        path(c, '/messages'),
        { ...reply, content: 'else' },
        { 'Idempotency-Key': 'msg-4' },
      );
      expect([other.status, other.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    },
  );

  it.each([
    ['the Nil UUID', '00000000-0000-0000-0000-000000000000'],
    ['the Max UUID in upper case', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'],
    ['a version 1 UUID in upper case', 'C232AB00-9414-11EC-B3C8-9F6BDECED846'],
    ['a version 7 UUID in mixed case', '019Ace6F-6c00-7aBc-8DEF-0123456789aB'],
  ])('accepts %s as a conversation id, in lower case', async (_, given) => {
    const res = await writer.post('/v1/conversations', {
      conversationId: given,
      subjectId: 's-1',
      modelId: 'claude-opus-4-1',
    });
    expect([res.status, res.body.conversationId]).toEqual([201, given.toLowerCase()]);
    expect((await writer.get(path(given))).body).toMatchObject({ conversationId: given.toLowerCase() });
  });

  const BAD: [string, string][] = [
    ['surrounding spaces', ` ${GOOD} `],
    ['braces', `{${GOOD}}`],
    ['a urn:uuid: prefix', `urn:uuid:${GOOD}`],
    ['no hyphens', GOOD.replace(/-/g, '')],
    ['version 0 (not Nil)', GOOD.replace('-4abc-', '-0abc-')],
    ['version 9', GOOD.replace('-4abc-', '-9abc-')],
    ['the Microsoft variant', GOOD.replace('-8def-', '-cdef-')],
    ['a fullwidth letter', GOOD.replace('f', 'ｆ')],
  ];

  it.each(BAD)(
    'refuses an id with %s in a path, a body, a nested body, a list and a query: ' +
      '400 naming the field, nothing appended',
    async (_, bad) => {
      const c = id(0x99);
      if ((await writer.get(path(c))).status === 404) {
        expect(
          (await writer.post('/v1/conversations', { conversationId: c, subjectId: 's-1', modelId: 'claude-opus-4-1' }))
            .status,
        ).toBe(201);
      }
      const before = await totalEvents(t);
      const calls: [string, () => ReturnType<Client['get']>][] = [
        ['id', () => writer.get(path(encodeURIComponent(bad)))],
        [
          'id',
          () =>
            writer.post(path(encodeURIComponent(bad), '/messages'), {
              parentMessageId: null,
              role: 'user',
              content: 'x',
            }),
        ],
        ['flagId', () => operator.post(path(c, `/risk-flags/${encodeURIComponent(bad)}/clear`), {})],
        [
          'conversationId',
          () => writer.post('/v1/conversations', { conversationId: bad, subjectId: 's-1', modelId: 'claude-opus-4-1' }),
        ],
        [
          'forkedFrom.messageId',
          () =>
            writer.post('/v1/conversations', {
              subjectId: 's-1',
              modelId: 'claude-opus-4-1',
              forkedFrom: { conversationId: c, messageId: bad },
            }),
        ],
        [
          'parentMessageId',
          () => writer.post(path(c, '/messages'), { parentMessageId: bad, role: 'user', content: 'x' }),
        ],
        [
          'evidenceMessageIds',
          () =>
            writer.post(path(c, '/end'), {
              initiator: 'model',
              reasonCode: 'ABUSE_OF_ASSISTANT',
              atMessageId: GOOD,
              evidenceMessageIds: [bad],
            }),
        ],
        ['leaf', () => writer.get(`${path(c, '/messages')}?leaf=${encodeURIComponent(bad)}`)],
      ];
      for (const [field, call] of calls) {
        const res = await call();
        expect([field, res.status, res.body.code]).toEqual([field, 400, 'VALIDATION_FAILED']);
        expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }
      expect(await totalEvents(t)).toBe(before);
    },
  );
});
