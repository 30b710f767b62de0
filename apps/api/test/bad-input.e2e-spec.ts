import type { Response } from 'supertest';
import { as, startTestApp, TestApp, versionOf } from './support/test-app';
import { Client, path, record, say, startConversation, totalEvents, uuid } from './support/scenario';

const ID = uuid(0xbad);
const U1 = uuid(1); // user, root
const A1 = uuid(2); // assistant, reply to U1
const U2 = uuid(3); // user, a second root (another lineage)
const UNKNOWN = uuid(0xffff);

/** Every bad request is answered 4xx problem+json with a stable code, and appends nothing. */
describe('Bad input', () => {
  let t: TestApp;
  let writerKey: string;
  let writer: Client;
  let operator: Client;
  let admin: Client;

  beforeAll(async () => {
    t = await startTestApp();
    writerKey = await t.key('writer', 'acme');
    writer = as(t, writerKey);
    operator = as(t, await t.key('operator', 'acme'));
    admin = as(t, await t.key('admin', 'acme'));
    await startConversation(writer, ID);
    await say(writer, ID, U1, null, 'user', 'Hello');
    await say(writer, ID, A1, U1, 'assistant', 'Hi!');
    await say(writer, ID, U2, null, 'user', 'Another start');
    await record(operator, ID, '/risk-flags', { flagId: uuid(0xf1), kind: 'self_harm', source: 'classifier' });
  });
  afterAll(() => t.close());

  // Requests are built lazily: the clients exist only once beforeAll has run.
  const w = (url: string, body: unknown) => () => writer.post(url, body);
  const o = (url: string, body: unknown) => () => operator.post(url, body);
  const get = (url: string) => () => writer.get(url);
  const raw =
    (url: string, payload: string, type = 'application/json') =>
    () =>
      t.http().post(url).set('Authorization', `Bearer ${writerKey}`).set('Content-Type', type).send(payload);
  const message = (extra: object = {}) =>
    w(path(ID, '/messages'), { parentMessageId: A1, role: 'user', content: 'ok', ...extra });
  const end = (extra: object = {}) =>
    w(path(ID, '/end'), { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: U1, ...extra });
  const start = (extra: object = {}) =>
    w('/v1/conversations', { subjectId: 'subject-1', modelId: 'claude-opus-4-1', ...extra });
  const invalid = (field: string): [number, string, object] => [
    400,
    'VALIDATION_FAILED',
    { errors: expect.arrayContaining([expect.objectContaining({ field })]) },
  ];
  const BAD = [400, 'VALIDATION_FAILED'] as const;
  const evidenceOf = (...ids: string[]) => ({ details: expect.objectContaining({ invalidMessageIds: ids }) });

  const cases: [string, () => Promise<Response>, number, string, object?][] = [
    ['a malformed conversation id in a command path', w('/v1/conversations/not-a-uuid/messages', {}), ...BAD],
    ['a malformed conversation id in a read path', get('/v1/conversations/1%27%20OR%201=1'), ...BAD],
    ['a malformed flag id in the path', o(path(ID, '/risk-flags/nope/clear'), {}), ...BAD],
    ['an unknown body field', message({ colour: 'red' }), ...invalid('colour')],
    ['an unknown role', message({ role: 'system' }), ...invalid('role')],
    ['an unknown reason code', end({ reasonCode: 'RUDENESS' }), ...invalid('reasonCode')],
    ['an unknown initiator', end({ initiator: 'user' }), ...invalid('initiator')],
    ['an unknown risk kind', o(path(ID, '/risk-flags'), { kind: 'boredom', source: 'classifier' }), ...invalid('kind')],
    [
      'a risk score above 1',
      o(path(ID, '/risk-flags'), { kind: 'self_harm', source: 'classifier', score: 1.5 }),
      ...invalid('score'),
    ],
    [
      'an unknown harm category',
      w(path(ID, '/redirections'), { messageId: A1, harmCategory: 'RUDE' }),
      ...invalid('harmCategory'),
    ],
    [
      'USER_REQUESTED as a harm category',
      w(path(ID, '/redirections'), { messageId: A1, harmCategory: 'USER_REQUESTED' }),
      ...invalid('harmCategory'),
    ],
    ['content over 100,000 characters', message({ content: 'x'.repeat(100_001) }), ...invalid('content')],
    ['content that is not a string', message({ content: 42 }), ...invalid('content')],
    ['a NUL character in content', message({ content: 'a\u0000b' }), ...invalid('content')],
    [
      'a NUL character in an explanation',
      o(path(ID, '/end'), {
        initiator: 'operator',
        reasonCode: 'OTHER_POLICY',
        atMessageId: U1,
        explanation: 'x\u0000',
      }),
      ...invalid('explanation'),
    ],
    [
      'a NUL character in a feedback comment',
      w(path(ID, '/feedback'), { rating: 'down', comment: '\u0000' }),
      ...invalid('comment'),
    ],
    ['a lone UTF-16 surrogate in content', message({ content: 'a\ud800b' }), ...invalid('content')],
    [
      'a lone low surrogate in a note',
      o(path(ID, '/risk-flags/00000000-0000-4000-8000-000000000000/clear'), { note: '\udc00' }),
      ...invalid('note'),
    ],
    ['a body over 1 MB', message({ content: 'x'.repeat(1_100_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['invalid JSON', raw(path(ID, '/messages'), '{"role": "user", '), ...BAD],
    ['a JSON array body', raw(path(ID, '/messages'), '[{"role":"user"}]'), ...BAD],
    ['a JSON string body', raw(path(ID, '/feedback'), '"up"'), ...BAD],
    ['a JSON null body', raw(path(ID, '/feedback'), 'null'), ...BAD],
    [
      'a body of another media type',
      raw(path(ID, '/feedback'), '<rating>up</rating>', 'application/xml'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['missing message fields', w(path(ID, '/messages'), {}), ...invalid('parentMessageId')],
    ['missing end fields', w(path(ID, '/end'), {}), ...invalid('atMessageId')],
    ['an unknown parent message', message({ parentMessageId: UNKNOWN }), 422, 'UNKNOWN_MESSAGE'],
    [
      'a redirection on a user message',
      w(path(ID, '/redirections'), { messageId: U1, harmCategory: 'ABUSE_OF_ASSISTANT' }),
      ...BAD,
    ],
    ['an end request on an assistant message', w(path(ID, '/end-requests'), { messageId: A1 }), ...BAD],
    ['an end at an unknown message', end({ atMessageId: UNKNOWN }), 422, 'UNKNOWN_MESSAGE'],
    [
      'evidence that is an assistant message',
      end({ atMessageId: A1, evidenceMessageIds: [U1, A1] }),
      ...BAD,
      evidenceOf(A1),
    ],
    [
      'evidence from another lineage or unknown',
      end({ atMessageId: A1, evidenceMessageIds: [U2, UNKNOWN] }),
      ...BAD,
      evidenceOf(U2, UNKNOWN),
    ],
    ['evidence ids that are not UUIDs', end({ evidenceMessageIds: ['x'] }), ...invalid('evidenceMessageIds')],
    [
      'feedback on an unknown message',
      w(path(ID, '/feedback'), { messageId: UNKNOWN, rating: 'up' }),
      422,
      'UNKNOWN_MESSAGE',
    ],
    ['clearing an unknown flag', o(path(ID, `/risk-flags/${UNKNOWN}/clear`), {}), 404, 'NOT_FOUND'],
    [
      'a command on an unknown conversation',
      w(path(UNKNOWN, '/messages'), { parentMessageId: null, role: 'user', content: 'x' }),
      404,
      'NOT_FOUND',
    ],
    ['a read of an unknown conversation', get(path(UNKNOWN)), 404, 'NOT_FOUND'],
    ['an asOf that is not an ISO time', get(path(ID, '?asOf=yesterday')), ...invalid('asOf')],
    ['an asOf that is not a real date', get(path(ID, '?asOf=2025-13-45T00:00:00Z')), ...invalid('asOf')],
    ['an asOfVersion of 0', get(path(ID, '?asOfVersion=0')), ...invalid('asOfVersion')],
    ['an asOfVersion that is not a number', get(path(ID, '?asOfVersion=abc')), ...invalid('asOfVersion')],
    ['a fractional asOfVersion', get(path(ID, '/messages?asOfVersion=1.5')), ...invalid('asOfVersion')],
    ['a leaf that is not a UUID', get(path(ID, '/messages?leaf=..%2F..')), ...invalid('leaf')],
    ['an unknown query parameter', get(path(ID, '?colour=red')), ...invalid('colour')],
    ['a subjectId with quotes', start({ subjectId: `a"b'c` }), ...invalid('subjectId')],
    ['a subjectId with %', start({ subjectId: '100%25' }), ...invalid('subjectId')],
    ['a subjectId of 10,000 characters', start({ subjectId: 's'.repeat(10_000) }), ...invalid('subjectId')],
    ['a subjectId with SQL', start({ subjectId: "x'; DROP TABLE es_events; --" }), ...invalid('subjectId')],
    ['an empty subjectId', start({ subjectId: '' }), ...invalid('subjectId')],
    ['a modelId with markup', start({ modelId: '<script>alert(1)</script>' }), ...invalid('modelId')],
    [
      'a malformed forkedFrom',
      start({ forkedFrom: { conversationId: 'x', messageId: U1 } }),
      ...invalid('forkedFrom.conversationId'),
    ],
    // null is not "absent": an optional field is given valid or not at all
    ['a null tenantId of a start', start({ tenantId: null }), ...invalid('tenantId')],
    ['a null forkedFrom', start({ forkedFrom: null }), ...invalid('forkedFrom')],
    ['a null modelId of a message', message({ modelId: null }), ...invalid('modelId')],
    ['a null stopReason', message({ stopReason: null }), ...invalid('stopReason')],
    [
      'a null messageId of feedback',
      w(path(ID, '/feedback'), { rating: 'up', messageId: null }),
      ...invalid('messageId'),
    ],
    ['a null explanation of an end', end({ explanation: null }), ...invalid('explanation')],
    ['a null note', o(path(ID, `/risk-flags/${uuid(0xf1)}/clear`), { note: null }), ...invalid('note')],
    [
      'a null tenantId of a subject erasure',
      () => admin.post('/v1/subjects/subject-1/erasure', { reason: 'r', tenantId: null }),
      ...invalid('tenantId'),
    ],
    ['tree=1 (only true or false)', get(path(ID, '/messages?tree=1')), ...invalid('tree')],
  ];

  const table = cases.map(([name, send, status, code, body]) => [name, status, code, send, body ?? {}] as const);
  it.each(table)('answers %s with %i %s and appends nothing', async (_, status, code, send, body) => {
    const [before, beforeVersion] = [await totalEvents(t), await versionOf(t, ID)];
    const res = await send();
    expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      ...body,
    });
    expect(await totalEvents(t)).toBe(before);
    expect(await versionOf(t, ID)).toBe(beforeVersion);
  });

  it('accepts content of exactly 100,000 characters', async () => {
    const res = await message({ content: 'x'.repeat(100_000) })();
    expect(res.status).toBe(201);
  });
});
