import { execFile } from 'node:child_process';
import { Agent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { startTestApp, TestApp } from './support/test-app';
import { path, totalEvents, uuid } from './support/scenario';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The request went out on a kept-alive connection of an earlier one. */
  reusedSocket?: boolean;
}

const MB = 1024 * 1024;

/**
 * argv: kind (http | fetch), port, key, megabytes, chunked. Writes the whole body as fast as
 * the socket takes it; prints the answer, or the client's error (also one after the answer:
 * EPIPE, ECONNRESET), as JSON.
 */
const CLIENT =
  `
const [kind, port, key, megabytes, chunked] = process.argv.slice(1);
const body = Buffer.alloc(Number(megabytes) * 1024 * 1024, 'x');
const headers = { authorization: 'Bearer ' + key, 'content-type': 'application/json' };
const done = (result) => process.stdout.write(JSON.stringify(result));
if (kind === 'fetch') {
  fetch('http://127.0.0.1:' + port + '/v1/conversations', { method: 'POST', headers, body })
    .then(async (res) => done({ status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() }))
    .catch((err) => done({ error: (err.cause && err.cause.code) || err.message }));
} else {
  if (chunked === 'true') headers['transfer-encoding'] = 'chunked';
  let answer, failure;
  const req = require('node:http').request(` +
  `{ host: '127.0.0.1', port, method: 'POST', path: '/v1/conversations', headers }, (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (text += c));
    res.on('end', () => (answer = { status: res.statusCode, headers: res.headers, text }));
  });
  req.on('error', (err) => (failure = failure || err.code || err.message));
  req.on('close', () => done(failure ? { error: failure } : answer || { error: 'closed without an answer' }));
  req.end(body);
}`;
const ID = uuid(0x414);

/**
 * Refusals that happen before a request reaches a handler (Fastify's own), tried with real
 * clients on a real socket: each is problem+json with a stable code, and the client reads it.
 */
describe('HTTP refusals', () => {
  let t: TestApp;
  let port: number;
  let key: string;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    key = await t.key('writer', 'acme');
  });
  afterAll(() => t.close());

  /**
   * node:http, writing the whole body as fast as the socket takes it. Settles once the request
   * has closed, and fails on any socket error, also one after the answer (EPIPE, ECONNRESET).
   */
  function send(
    method: string,
    url: string,
    body?: Buffer,
    headers: Record<string, string> = {},
    agent?: Agent,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let answer: Answer | undefined;
      let failure: Error | undefined;
      const req = httpRequest(
        { host: '127.0.0.1', port, method, path: url, agent, headers: { authorization: `Bearer ${key}`, ...headers } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on(
            'end',
            () => (answer = { status: res.statusCode!, headers: res.headers, text, reusedSocket: req.reusedSocket }),
          );
        },
      );
      req.on('error', (err) => (failure ??= err));
      req.on('close', () =>
        failure ? reject(failure) : answer ? resolve(answer) : reject(new Error('closed without an answer')),
      );
      req.end(body);
    });
  }

  /**
   * A client in a process of its own, as callers are: in this process the server could read
   * on between the client's writes and hide the race that resets the connection.
   */
  async function client(kind: 'http' | 'fetch', megabytes: number, chunked = false): Promise<Answer> {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', CLIENT, kind, String(port), key, String(megabytes), String(chunked)],
      {
        timeout: 60_000,
      },
    );
    const result = JSON.parse(stdout) as Answer & { error?: string };
    if (result.error) throw new Error(`the client failed: ${result.error}`);
    return result;
  }

  /** Raw bytes on a socket, for requests no HTTP client would send. */
  function raw(bytes: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.on('data', (c) => (data += c.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head, text = ''] = data.split('\r\n\r\n');
        const [statusLine, ...lines] = head.split('\r\n');
        const headers = Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        resolve({ status: Number(statusLine.split(' ')[1]), headers, text });
      });
      socket.end(bytes);
    });
  }

  const expectProblem = (answer: Answer, status: number, code: string) => {
    expect({ status: answer.status, code: JSON.parse(answer.text || '{}').code }).toEqual({ status, code });
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(answer.text)).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code,
    });
  };
  const documented = (method: string, url: string, answer: Answer) => t.openapi.assertValid({ method, url, ...answer });

  describe('a body over 1 MB', () => {
    const json = { 'content-type': 'application/json' };
    const start = '/v1/conversations';

    it.each([2, 20])('answers %i MB with a 413 problem node:http reads (no EPIPE, no reset)', async (size) => {
      const before = await totalEvents(t);
      const answer = await client('http', size);
      expectProblem(answer, 413, 'PAYLOAD_TOO_LARGE');
      documented('POST', start, answer);
      expect(await totalEvents(t)).toBe(before);
    });

    it.each([2, 20])('answers %i MB sent chunked (no Content-Length) with a 413 problem', async (size) => {
      const answer = await client('http', size, true);
      expectProblem(answer, 413, 'PAYLOAD_TOO_LARGE');
      documented('POST', start, answer);
    });

    it.each([2, 20])('answers %i MB with a 413 problem fetch (undici) reads', async (size) => {
      const answer = await client('fetch', size);
      expectProblem(answer, 413, 'PAYLOAD_TOO_LARGE');
      documented('POST', start, answer);
    });

    it('answers 20 MB with a 413 problem to a client in this process too', async () => {
      const answer = await send('POST', start, Buffer.alloc(20 * MB, 'x'), json);
      expectProblem(answer, 413, 'PAYLOAD_TOO_LARGE');
      documented('POST', start, answer);
    });

    it('reads and drops the rest of the body, and keeps the connection for the next request', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        expectProblem(await send('POST', start, Buffer.alloc(2 * MB, 'x'), json, agent), 413, 'PAYLOAD_TOO_LARGE');
        const next = await send('GET', path(uuid(0xabc)), undefined, {}, agent);
        expectProblem(next, 404, 'NOT_FOUND');
        expect(next.reusedSocket).toBe(true);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('URLs and headers over the limits', () => {
    it('answers a path segment over 128 characters with 414 URI_TOO_LONG', async () => {
      const url = `/v1/conversations/${'a'.repeat(200)}`;
      const answer = await send('GET', url);
      expectProblem(answer, 414, 'URI_TOO_LONG');
      documented('GET', '/v1/conversations/{id}'.replace('{id}', ID), answer);
    });

    it.each([10_000, 20_000])('answers a URL of %i characters with 414 URI_TOO_LONG', async (length) => {
      const url = `${path(ID)}?asOf=${'9'.repeat(length)}`;
      const answer = await send('GET', url);
      expectProblem(answer, 414, 'URI_TOO_LONG');
      documented('GET', url, answer);
    });

    it('answers headers over 16 kB with 431 REQUEST_HEADERS_TOO_LARGE', async () => {
      const answer = await send('GET', path(ID), undefined, { 'x-padding': 'p'.repeat(20_000) });
      expectProblem(answer, 431, 'REQUEST_HEADERS_TOO_LARGE');
      documented('GET', path(ID), answer);
    });

    it('answers malformed HTTP with 400 MALFORMED_REQUEST', async () => {
      expectProblem(
        await raw('GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'),
        400,
        'MALFORMED_REQUEST',
      );
    });

    it('answers malformed percent-encoding in the path with 400 VALIDATION_FAILED', async () => {
      const answer = await send('GET', '/v1/conversations/%E0%A4%A');
      expectProblem(answer, 400, 'VALIDATION_FAILED');
      documented('GET', '/v1/conversations/x', answer);
    });
  });

  describe('routes', () => {
    it('answers an unknown path with 404 NOT_FOUND', async () => {
      const answer = await send('GET', '/v1/nothing-here');
      expectProblem(answer, 404, 'NOT_FOUND');
      documented('GET', '/v1/nothing-here', answer);
    });

    it.each([
      ['DELETE', path(ID), 'GET, HEAD'],
      ['PUT', '/v1/conversations', 'POST'],
      ['PATCH', path(ID, '/messages'), 'GET, HEAD, POST'],
      ['POST', '/health', 'GET, HEAD'],
    ])('answers %s %s with 405 METHOD_NOT_ALLOWED and Allow: %s', async (method, url, allow) => {
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? Buffer.from('{}') : undefined;
      const answer = await send(method, url, body, body ? { 'content-type': 'application/json' } : {});
      expectProblem(answer, 405, 'METHOD_NOT_ALLOWED');
      expect(answer.headers.allow).toBe(allow);
      documented(method, url, answer);
    });
  });

  describe('bodies', () => {
    const post = (body: string, type = 'application/json') =>
      send('POST', '/v1/conversations', Buffer.from(body), { 'content-type': type });

    it.each([
      ['malformed JSON', '{"subjectId": ', 'application/json', 400, 'VALIDATION_FAILED'],
      ['an empty JSON body', '', 'application/json', 400, 'VALIDATION_FAILED'],
      [
        'a __proto__ key',
        '{"subjectId":"s","modelId":"m","__proto__":{"admin":true}}',
        'application/json',
        400,
        'VALIDATION_FAILED',
      ],
      ['a form body', 'subjectId=s&modelId=m', 'application/x-www-form-urlencoded', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['text/plain', '{"subjectId":"s","modelId":"m"}', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ])('answers %s with a problem', async (_, body, type, status, code) => {
      const answer = await post(body, type);
      expectProblem(answer, status, code);
      documented('POST', '/v1/conversations', answer);
    });
  });
});
