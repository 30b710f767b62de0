import { request as httpRequest, IncomingMessage } from 'node:http';

export interface SseClient {
  /** The ids (positions) of the events received so far. */
  ids: string[];
  /** Everything received (a refusal's problem+json body). */
  text(): string;
  /** The response (status and headers), once it came. */
  opened: Promise<IncomingMessage>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves once `done()` holds on what arrived (rejects after `ms`). */
  until(done: () => boolean, ms?: number): Promise<void>;
  close(): void;
}

/** Opens GET /v1/events/stream with a raw HTTP client (supertest cannot hold a stream open). */
export function openEventStream(port: number, key: string, headers: Record<string, string> = {}): SseClient {
  const ids: string[] = [];
  let buffer = '';
  let all = '';
  let check = (): void => undefined;
  let response: IncomingMessage | undefined;
  let endStream = (): void => undefined;
  const ended = new Promise<void>((resolve) => (endStream = resolve));
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    path: '/v1/events/stream',
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers },
  });
  const opened = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        all += chunk;
        for (const id of buffer.match(/^id: .+$/gm) ?? []) ids.push(id.slice(4));
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
        check();
      });
      res.on('close', () => endStream());
      res.on('end', () => endStream());
      resolve(res);
    });
    req.on('error', (err) => {
      endStream();
      reject(err);
    });
  });
  req.end();
  const until = (done: () => boolean, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${ids.length} events`)), ms);
      check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve();
        }
      };
      check();
    });
  return { ids, text: () => all, opened, ended, until, close: () => (req.destroy(), response?.destroy()) };
}
