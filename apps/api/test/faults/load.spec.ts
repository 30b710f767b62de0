import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Attempt, recovery, runLoad, statusCounts, withinTime } from './load';

const at = (client: number, doneAt: number, status: number, code?: string): Attempt => ({
  client,
  key: `k${client}`,
  url: 'http://127.0.0.1:1',
  sentAt: doneAt - 10,
  doneAt,
  status,
  code,
});

describe('the fault suite’s recovery figure', () => {
  it('is the first write after the fault, and the time until every client that failed wrote again', () => {
    const attempts = [
      at(0, 900, 201),
      at(1, 1_100, 503, 'DATABASE_UNAVAILABLE'),
      at(0, 1_500, 0),
      at(1, 2_300, 201),
      at(0, 2_700, 201),
      at(2, 2_100, 201), // never failed: does not hold the figure up
    ];
    expect(recovery(attempts, 1_000, 2_000)).toEqual({ firstMs: 100, allMs: 700 });
  });

  it('is null for a client that failed and never wrote again, and when nothing was written after', () => {
    expect(recovery([at(0, 1_100, -1), at(1, 2_500, 201)], 1_000, 2_000)).toEqual({ firstMs: 500, allMs: null });
    expect(recovery([at(0, 900, 201)], 1_000, 2_000)).toEqual({ firstMs: null, allMs: 0 });
  });

  it('counts the failed attempts by status and code', () => {
    expect(
      statusCounts([at(0, 1, 503, 'DATABASE_TIMEOUT'), at(0, 2, 503, 'DATABASE_TIMEOUT'), at(1, 3, 0), at(1, 4, -1)]),
    ).toEqual({
      '503 DATABASE_TIMEOUT': 2,
      'conn-error': 1,
      timeout: 1,
    });
  });
});

async function serve(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handle);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const close = (server: Server) => {
  server.closeAllConnections();
  return new Promise((done) => server.close(done));
};

describe('the fault suite’s load', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });

  it('sends each message to the next API address in turn', async () => {
    const answer = (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ messageId: 'm', version: 1 }));
    };
    const a = await serve(answer);
    const b = await serve(answer);
    servers.push(a.server, b.server);
    const load = runLoad({
      scenario: 'unit',
      urls: [a.url, b.url],
      apiKey: 'k',
      clients: 1,
      // long enough for the start and a few messages on a machine busy with the other suites (200 ms once gave none)
      durationMs: 1_000,
      requestTimeoutMs: 5_000,
      drainMs: 5_000,
    });
    load.finishAt(Date.now());
    const { attempts, acks } = await load.done;
    expect(acks.length).toBeGreaterThan(2);
    // The conversation's start, then one message after the other on alternate addresses.
    const urls = attempts.slice(1).map((x) => x.url);
    expect(urls).toEqual(urls.map((_, i) => (i % 2 === 0 ? b.url : a.url)));
  });

  it('abort cuts off requests in flight: clients of an API that never answers stop at once', async () => {
    let received = 0;
    const hanging = await serve(() => received++);
    servers.push(hanging.server);
    const load = runLoad({
      scenario: 'unit',
      urls: [hanging.url],
      apiKey: 'k',
      clients: 2,
      durationMs: 60_000,
      requestTimeoutMs: 60_000,
      drainMs: 60_000,
    });
    while (received < 2) await new Promise((done) => setTimeout(done, 10));
    load.abort();
    // Within jest's 5 s, far less than the request timeout.
    const result = await load.done;
    expect(result).toMatchObject({ acks: [], startFailures: 2 });
  });

  it('withinTime rejects work that outlasts its time and passes on work that ends in time', async () => {
    await expect(withinTime(new Promise(() => undefined), 50, 'the fault')).rejects.toThrow(
      'the fault did not end within 0.05 s',
    );
    await expect(withinTime(Promise.resolve(7), 1_000, 'the fault')).resolves.toBe(7);
  });
});
