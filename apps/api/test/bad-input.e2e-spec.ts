import type { Response } from 'supertest';
import { as, startTestApp, TestApp, versionOf } from './support/test-app';
import { Client, path, record, say, startConversation, totalEvents, uuid } from './support/scenario';

const ID = uuid(0xbad);
const U1 = uuid(1); // user, root
const A1 = uuid(2); // assistant, reply to U1
const U2 = uuid(3); // user, a second root (another lineage)
const UNKNOWN = uuid(0xffff);

interface Case {
  send: () => Promise<Response>;
  status: number;
  code: string;
  /** Extra expectations on the problem body. */
  body?: Record<string, unknown>;
}

/** Every bad request is answered 4xx problem+json with a stable code, and appends nothing. */
describe('Bad input', () => {
  let t: TestApp;
  let writerKey: string;
  let writer: Client;
  let operator: Client;

  beforeAll(async () => {
    t = await startTestApp();
    writerKey = await t.key('writer', 'acme');
    writer = as(t, writerKey);
    operator = as(t, await t.key('operator', 'acme'));
    await startConversation(writer, ID);
    await say(writer, ID, U1, null, 'user', 'Hello');
    await say(writer, ID, A1, U1, 'assistant', 'Hi!');
    await say(writer, ID, U2, null, 'user', 'Another start');
    await record(operator, ID, '/risk-flags', { flagId: uuid(0xf1), kind: 'self_harm', source: 'classifier' });
  });
  afterAll(() => t.close());

  const message = (extra: Record<string, unknown> = {}) => ({ parentMessageId: A1, role: 'user', content: 'ok', ...extra });
  const end = (extra: Record<string, unknown> = {}) => ({ initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: U1, ...extra });
  const start = (extra: Record<string, unknown> = {}) => ({ subjectId: 'subject-1', modelId: 'claude-opus-4-1', ...extra });
  const raw = (url: string, payload: string, type = 'application/json') =>
    t.http().post(url).set('Authorization', `Bearer ${writerKey}`).set('Content-Type', type).send(payload);
  const invalid = (field: string): Partial<Case> => ({ status: 400, code: 'VALIDATION_FAILED', body: { errors: expect.arrayContaining([expect.objectContaining({ field })]) } });

  const cases: Record<string, () => Case> = {
    'a malformed conversation id in a command path': () => ({ send: () => writer.post('/v1/conversations/not-a-uuid/messages', message()), status: 400, code: 'VALIDATION_FAILED' }),
    'a malformed conversation id in a read path': () => ({ send: () => writer.get('/v1/conversations/1%27%20OR%201=1'), status: 400, code: 'VALIDATION_FAILED' }),
    'a malformed flag id in the path': () => ({ send: () => operator.post(path(ID, '/risk-flags/nope/clear'), {}), status: 400, code: 'VALIDATION_FAILED' }),
    'an unknown body field': () => ({ send: () => writer.post(path(ID, '/messages'), message({ colour: 'red' })), ...invalid('colour') }) as Case,
    'an unknown role': () => ({ send: () => writer.post(path(ID, '/messages'), message({ role: 'system' })), ...invalid('role') }) as Case,
    'an unknown reason code': () => ({ send: () => writer.post(path(ID, '/end'), end({ reasonCode: 'RUDENESS' })), ...invalid('reasonCode') }) as Case,
    'an unknown initiator': () => ({ send: () => writer.post(path(ID, '/end'), end({ initiator: 'user' })), ...invalid('initiator') }) as Case,
    'an unknown risk kind': () => ({ send: () => operator.post(path(ID, '/risk-flags'), { kind: 'boredom', source: 'classifier' }), ...invalid('kind') }) as Case,
    'a risk score above 1': () => ({ send: () => operator.post(path(ID, '/risk-flags'), { kind: 'self_harm', source: 'classifier', score: 1.5 }), ...invalid('score') }) as Case,
    'an unknown harm category': () => ({ send: () => writer.post(path(ID, '/redirections'), { messageId: A1, harmCategory: 'RUDE' }), ...invalid('harmCategory') }) as Case,
    'USER_REQUESTED as a harm category': () => ({ send: () => writer.post(path(ID, '/redirections'), { messageId: A1, harmCategory: 'USER_REQUESTED' }), ...invalid('harmCategory') }) as Case,
    'content over 100,000 characters': () => ({ send: () => writer.post(path(ID, '/messages'), message({ content: 'x'.repeat(100_001) })), ...invalid('content') }) as Case,
    'content that is not a string': () => ({ send: () => writer.post(path(ID, '/messages'), message({ content: 42 })), ...invalid('content') }) as Case,
    'a NUL character in content': () => ({ send: () => writer.post(path(ID, '/messages'), message({ content: 'a\u0000b' })), ...invalid('content') }) as Case,
    'a NUL character in an explanation': () => ({ send: () => operator.post(path(ID, '/end'), end({ initiator: 'operator', reasonCode: 'OPERATOR_ACTION', explanation: 'x\u0000' })), ...invalid('explanation') }) as Case,
    'a NUL character in a feedback comment': () => ({ send: () => writer.post(path(ID, '/feedback'), { rating: 'down', comment: '\u0000' }), ...invalid('comment') }) as Case,
    'a body over 1 MB': () => ({ send: () => writer.post(path(ID, '/messages'), message({ content: 'x'.repeat(1_100_000) })), status: 413, code: 'PAYLOAD_TOO_LARGE' }),
    'invalid JSON': () => ({ send: () => raw(path(ID, '/messages'), '{"role": "user", '), status: 400, code: 'VALIDATION_FAILED' }),
    'a JSON array body': () => ({ send: () => raw(path(ID, '/messages'), '[{"role":"user"}]'), status: 400, code: 'VALIDATION_FAILED' }),
    'a JSON string body': () => ({ send: () => raw(path(ID, '/feedback'), '"up"'), status: 400, code: 'VALIDATION_FAILED' }),
    'a JSON null body': () => ({ send: () => raw(path(ID, '/feedback'), 'null'), status: 400, code: 'VALIDATION_FAILED' }),
    'a body of another media type': () => ({ send: () => raw(path(ID, '/feedback'), '<rating>up</rating>', 'application/xml'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }),
    'missing message fields': () => ({ send: () => writer.post(path(ID, '/messages'), {}), ...invalid('parentMessageId') }) as Case,
    'missing end fields': () => ({ send: () => writer.post(path(ID, '/end'), {}), ...invalid('atMessageId') }) as Case,
    'an unknown parent message': () => ({ send: () => writer.post(path(ID, '/messages'), message({ parentMessageId: UNKNOWN })), status: 422, code: 'UNKNOWN_MESSAGE' }),
    'a redirection on a user message': () => ({ send: () => writer.post(path(ID, '/redirections'), { messageId: U1, harmCategory: 'ABUSE_OF_ASSISTANT' }), status: 400, code: 'VALIDATION_FAILED' }),
    'an end request on an assistant message': () => ({ send: () => writer.post(path(ID, '/end-requests'), { messageId: A1 }), status: 400, code: 'VALIDATION_FAILED' }),
    'an end at an unknown message': () => ({ send: () => writer.post(path(ID, '/end'), end({ atMessageId: UNKNOWN })), status: 422, code: 'UNKNOWN_MESSAGE' }),
    'evidence that is an assistant message': () => ({
      send: () => writer.post(path(ID, '/end'), end({ atMessageId: A1, evidenceMessageIds: [U1, A1] })),
      status: 400,
      code: 'VALIDATION_FAILED',
      body: { details: expect.objectContaining({ invalidMessageIds: [A1] }) },
    }),
    'evidence from another lineage or unknown': () => ({
      send: () => writer.post(path(ID, '/end'), end({ atMessageId: A1, evidenceMessageIds: [U2, UNKNOWN] })),
      status: 400,
      code: 'VALIDATION_FAILED',
      body: { details: expect.objectContaining({ invalidMessageIds: [U2, UNKNOWN] }) },
    }),
    'evidence ids that are not UUIDs': () => ({ send: () => writer.post(path(ID, '/end'), end({ evidenceMessageIds: ['x'] })), ...invalid('evidenceMessageIds') }) as Case,
    'feedback on an unknown message': () => ({ send: () => writer.post(path(ID, '/feedback'), { messageId: UNKNOWN, rating: 'up' }), status: 422, code: 'UNKNOWN_MESSAGE' }),
    'clearing an unknown flag': () => ({ send: () => operator.post(path(ID, `/risk-flags/${UNKNOWN}/clear`), {}), status: 404, code: 'NOT_FOUND' }),
    'a command on an unknown conversation': () => ({ send: () => writer.post(path(UNKNOWN, '/messages'), message({ parentMessageId: null })), status: 404, code: 'NOT_FOUND' }),
    'a read of an unknown conversation': () => ({ send: () => writer.get(path(UNKNOWN)), status: 404, code: 'NOT_FOUND' }),
    'an asOf that is not an ISO time': () => ({ send: () => writer.get(path(ID, '?asOf=yesterday')), ...invalid('asOf') }) as Case,
    'an asOf that is not a real date': () => ({ send: () => writer.get(path(ID, '?asOf=2025-13-45T00:00:00Z')), ...invalid('asOf') }) as Case,
    'an asOfVersion of 0': () => ({ send: () => writer.get(path(ID, '?asOfVersion=0')), ...invalid('asOfVersion') }) as Case,
    'an asOfVersion that is not a number': () => ({ send: () => writer.get(path(ID, '?asOfVersion=abc')), ...invalid('asOfVersion') }) as Case,
    'a fractional asOfVersion': () => ({ send: () => writer.get(path(ID, '/messages?asOfVersion=1.5')), ...invalid('asOfVersion') }) as Case,
    'a leaf that is not a UUID': () => ({ send: () => writer.get(path(ID, '/messages?leaf=..%2F..')), ...invalid('leaf') }) as Case,
    'an unknown query parameter': () => ({ send: () => writer.get(path(ID, '?colour=red')), ...invalid('colour') }) as Case,
    'a subjectId with quotes': () => ({ send: () => writer.post('/v1/conversations', start({ subjectId: `a"b'c` })), ...invalid('subjectId') }) as Case,
    'a subjectId with %': () => ({ send: () => writer.post('/v1/conversations', start({ subjectId: '100%25' })), ...invalid('subjectId') }) as Case,
    'a subjectId of 10,000 characters': () => ({ send: () => writer.post('/v1/conversations', start({ subjectId: 's'.repeat(10_000) })), ...invalid('subjectId') }) as Case,
    'a subjectId with SQL': () => ({ send: () => writer.post('/v1/conversations', start({ subjectId: "x'; DROP TABLE es_events; --" })), ...invalid('subjectId') }) as Case,
    'an empty subjectId': () => ({ send: () => writer.post('/v1/conversations', start({ subjectId: '' })), ...invalid('subjectId') }) as Case,
    'a modelId with spaces and markup': () => ({ send: () => writer.post('/v1/conversations', start({ modelId: '<script>alert(1)</script>' })), ...invalid('modelId') }) as Case,
    'a malformed forkedFrom': () => ({ send: () => writer.post('/v1/conversations', start({ forkedFrom: { conversationId: 'x', messageId: U1 } })), ...invalid('forkedFrom.conversationId') }) as Case,
  };

  it.each(Object.keys(cases))('answers %s with a 4xx problem and appends nothing', async (name) => {
    const c = cases[name]();
    const [before, beforeVersion] = [await totalEvents(t), await versionOf(t, ID)];
    const res = await c.send();
    expect({ status: res.status, code: res.body?.code }).toEqual({ status: c.status, code: c.code });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status: c.status, detail: expect.any(String), ...c.body });
    expect(await totalEvents(t)).toBe(before);
    expect(await versionOf(t, ID)).toBe(beforeVersion);
  });

  it('accepts content of exactly 100,000 characters', async () => {
    const res = await writer.post(path(ID, '/messages'), message({ content: 'x'.repeat(100_000) }));
    expect(res.status).toBe(201);
  });
});
