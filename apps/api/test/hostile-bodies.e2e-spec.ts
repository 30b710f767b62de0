import { gzipSync } from 'node:zlib';
import type { Response } from 'supertest';
import { as, startTestApp, TestApp } from './support/test-app';
import { path, say, startConversation, totalEvents, uuid } from './support/scenario';

const ID = uuid(0x60d);
const U1 = uuid(1);
const START = { subjectId: 'subject-1', modelId: 'claude-opus-4-1' };
const nested = (depth: number, open: string, close: string, inner = '1') =>
  open.repeat(depth) + inner + close.repeat(depth);

function expectProblem(res: Response, status: number, code: string): void {
  expect([res.status, res.body.code]).toEqual([status, code]);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

/**
 * Bodies built to hurt: each is refused with a 4xx problem before it reaches validation, and
 * appends nothing. Found by the red team of issue 9 (each answered otherwise before the fix).
 */
describe('Hostile request bodies', () => {
  let t: TestApp;
  let key: string;
  let before: number;

  beforeAll(async () => {
    t = await startTestApp();
    key = await t.key('writer', 'acme');
    const writer = as(t, key);
    await startConversation(writer, ID);
    await say(writer, ID, U1, null, 'user', 'Hello');
  });
  afterAll(() => t.close());
  beforeEach(async () => (before = await totalEvents(t)));
  afterEach(async () => expect(await totalEvents(t)).toBe(before));

  const post = (url: string, payload: string | Buffer, headers: Record<string, string> = {}) =>
    t
      .http()
      .post(url)
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/json')
      .set(headers)
      // Bytes as they are: superagent would serialise a Buffer as JSON.
      .serialize((raw: string) => raw)
      .send(payload as string);

  it.each([
    [
      'an unknown field holding objects 10,000 deep',
      '/v1/conversations',
      `{"subjectId":"s","modelId":"m","x":${nested(10_000, '{"a":', '}')}}`,
    ],
    [
      'forkedFrom 10,000 deep',
      '/v1/conversations',
      `{"subjectId":"s","modelId":"m","forkedFrom":${nested(10_000, '{"a":', '}')}}`,
    ],
    [
      'evidenceMessageIds as arrays 10,000 deep',
      path(ID, '/end'),
      `{"initiator":"model","reasonCode":"ABUSE_OF_ASSISTANT","atMessageId":"${U1}",` +
        `"evidenceMessageIds":${nested(10_000, '[', ']', '')}}`,
    ],
  ])('refuses %s with 400 VALIDATION_FAILED (not a 500 from a blown stack)', async (_, url, payload) => {
    const res = await post(url, payload);
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.detail).toMatch(/nested deeper than 32/);
  });

  it(
    'refuses an object of 60,000 members at once, ' +
      'with a short answer (not 6 MB of field errors after seconds of work)',
    async () => {
      const members = Array.from({ length: 60_000 }, (_, i) => `"p${i}":0`).join(',');
      const res = await post('/v1/conversations', `{"subjectId":"s","modelId":"m",${members}}`);
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.detail).toMatch(/more than 1000 members/);
      expect(res.text.length).toBeLessThan(1_000);
    },
  );

  it('accepts a body within the bounds: an ordinary start is still 201', async () => {
    const res = await post('/v1/conversations', JSON.stringify(START));
    expect(res.status).toBe(201);
    before += 1;
  });

  it.each([
    ['ISO-8859-1', 'iso-8859-1', Buffer.from('{"parentMessageId":null,"role":"user","content":"caf\xe9"}', 'latin1')],
    ['UTF-16', 'utf-16', Buffer.from('{"parentMessageId":null,"role":"user","content":"hi"}', 'utf16le')],
    [
      'UTF-16 claimed over UTF-8 bytes',
      '"UTF-16"',
      Buffer.from('{"parentMessageId":null,"role":"user","content":"hi"}'),
    ],
  ])(
    'refuses a body declared as %s with 415 (it was read as UTF-8 and stored altered)',
    async (_, charset, payload) => {
      const res = await post(path(ID, '/messages'), payload, {
        'Content-Type': `application/json; charset=${charset}`,
      });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it('refuses bytes that are not UTF-8 with 400, instead of storing U+FFFD in their place', async () => {
    const res = await post(
      path(ID, '/messages'),
      Buffer.from('{"parentMessageId":null,"role":"user","content":"caf\xe9"}', 'latin1'),
    );
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.detail).toMatch(/UTF-8/);
  });

  it('accepts charset=utf-8 in any letter case, quoted or not', async () => {
    for (const charset of ['UTF-8', '"utf-8"', 'utf8']) {
      const res = await post('/v1/conversations', JSON.stringify(START), {
        'Content-Type': `application/json; charset=${charset}`,
      });
      expect([charset, res.status]).toEqual([charset, 201]);
      before += 1;
    }
  });

  it.each([
    ['a gzip-compressed body', gzipSync(JSON.stringify(START)), 'gzip'],
    [
      'a plain body labelled gzip (read as is before: what a decoding proxy checked is not what was stored)',
      Buffer.from(JSON.stringify(START)),
      'gzip',
    ],
    ['a plain body labelled br', Buffer.from(JSON.stringify(START)), 'br'],
  ])('refuses %s with 415 and Accept-Encoding: identity', async (_, payload, coding) => {
    const res = await post('/v1/conversations', payload, { 'Content-Encoding': coding });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(res.headers['accept-encoding']).toBe('identity');
  });

  it('accepts Content-Encoding: identity', async () => {
    const res = await post('/v1/conversations', JSON.stringify(START), { 'Content-Encoding': 'identity' });
    expect(res.status).toBe(201);
    before += 1;
  });
});
