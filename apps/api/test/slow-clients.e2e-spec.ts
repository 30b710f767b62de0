import { connect, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { SseConnections } from '../src/events/sse-connections';
import { createApiKey } from '@app/access';
import { startTestApp, TestApp } from './support/test-app';

interface RawClient {
  socket: Socket;
  received(): string;
  /** Resolves with the milliseconds the connection lived, once it closes. */
  closed: Promise<number>;
}

/** A raw connection that sends `head` and then nothing more. */
function rawClient(port: number, head: string): RawClient {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  socket.write(head);
  return { socket, received: () => text, closed };
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref(),
    ),
  ]);

const HEALTH = 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

/**
 * Clients that hold connections without finishing a request (found by the red team of issue 9:
 * a body that never ends held its connection for ever, without any key, and a client could open
 * as many such connections as the process had file descriptors).
 */
describe('Slow and hoarding clients', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp({ HTTP_REQUEST_TIMEOUT_MS: '1000', MAX_CONNECTIONS_PER_ADDRESS: '5' });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  it('answers a request whose body never ends with 408 REQUEST_TIMEOUT and closes the connection', async () => {
    const client = rawClient(
      port,
      'POST /v1/conversations HTTP/1.1\r\nHost: localhost\r\n' +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    expect(await within(client.closed, 10_000, 'the connection closing')).toBeLessThan(10_000);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(client.received()).toContain('"code":"REQUEST_TIMEOUT"');
  });

  it('closes a connection over MAX_CONNECTIONS_PER_ADDRESS at once, and takes new ones when others close', async () => {
    // Five connections whose headers never end: each would be held until the request timeout.
    const held = Array.from({ length: 5 }, () => rawClient(port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sixth = rawClient(port, HEALTH);
    expect(await within(sixth.closed, 500, 'the sixth connection closing')).toBeLessThan(500);
    expect(sixth.received()).toBe('');
    for (const c of held) c.socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const next = rawClient(port, HEALTH);
    await within(next.closed, 5_000, 'the next request being answered');
    expect(next.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it(
    'answers HEAD on the event stream at once, ' + 'holding no stream open (it hung without headers, polling the log)',
    async () => {
      const { key, id } = await createApiKey(t.dataSource, { role: 'auditor', tenantId: 'acme' });
      const response = await within(
        new Promise<{ status?: number; type?: string }>((resolve, reject) => {
          const req = httpRequest({
            host: '127.0.0.1',
            port,
            method: 'HEAD',
            path: '/v1/events/stream',
            headers: { authorization: `Bearer ${key}` },
          });
          req.on('response', (res) => resolve({ status: res.statusCode, type: res.headers['content-type'] }));
          req.on('error', reject);
          req.end();
        }),
        3_000,
        'the answer to HEAD',
      );
      expect(response).toEqual({ status: 200, type: 'text/event-stream' });
      expect(t.app.get(SseConnections).countOf(id)).toBe(0);
    },
  );
});
