import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pinoHttp } from 'pino-http';
import { attachPrincipal, principalLogFields } from '../auth/request-principal';
import { principalLogProps, redactCredentials } from './request-log';

/** A pino-http logger writing its lines into `lines`. */
function logger(options: object, lines: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return pinoHttp({ ...options, autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health' } }, sink);
}

/** The lines without what differs from run to run. */
const comparable = (lines: string[]) =>
  lines.map((l) => {
    const { time: _t, responseTime: _r, pid: _p, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest;
  });

describe('request log lines', () => {
  const before: string[] = [];
  const after: string[] = [];
  // As the service logged before: pino's redact and a binding of the principal, empty or not.
  const old = logger(
    {
      customProps: (req: IncomingMessage) => principalLogFields(req),
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    before,
  );
  const now = logger({ customProps: principalLogProps, serializers: { req: redactCredentials } }, after);
  let server: Server;
  let url: string;

  beforeAll(async () => {
    let n = 0;
    server = createServer((req, res) => {
      const id = `req-${n++}`;
      // Both loggers on the same request, the principal known after them (as the guard does).
      (req as IncomingMessage & { id: string }).id = id;
      old(req, res, () => undefined);
      // The second logger must not find the first one's loggers on the request.
      delete (req as { log?: unknown }).log;
      delete (req as { allLogs?: unknown }).allLogs;
      delete (res as { log?: unknown }).log;
      delete (res as { allLogs?: unknown }).allLogs;
      now(req, res, () => undefined);
      if (req.headers.authorization === 'Bearer csk_good')
        attachPrincipal(req, { keyId: 'k1', role: 'writer', tenantId: 't1' } as never);
      res.statusCode = req.url === '/fail' ? 500 : 201;
      res.end('{}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('are the lines the service wrote with pino redact: key and cookie "[Redacted]", principal named', async () => {
    const requests: [string, Record<string, string>][] = [
      ['/v1/conversations', { authorization: 'Bearer csk_good', cookie: 'a=b', 'x-other': '1' }],
      ['/v1/conversations', { authorization: 'Bearer csk_bogus' }],
      ['/v1/conversations?x=1', {}],
      ['/fail', { authorization: 'Bearer csk_good' }],
      ['/cookie-only', { cookie: 'session=secret' }],
      ['/health', { authorization: 'Bearer csk_good' }],
    ];
    for (const [path, headers] of requests) await fetch(`${url}${path}`, { headers });
    await new Promise((done) => setTimeout(done, 50));
    expect(after).toHaveLength(requests.length - 1);
    expect(comparable(after)).toEqual(comparable(before));
    const text = after.join('');
    for (const secret of ['csk_good', 'csk_bogus', 'a=b', 'session=secret']) expect(text).not.toContain(secret);
    expect(text).toContain('"authorization":"[Redacted]"');
    const good = comparable(after)[0];
    expect(good).toMatchObject({ keyId: 'k1', role: 'writer', tenantId: 't1' });
  });
});
