import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Problem, problem } from './api-error';
import { HTTP_CODES } from './error-mapping';

/**
 * Fastify's own refusals, answered before a request reaches Nest, as problem+json: URLs and
 * headers over the limits, malformed HTTP, unknown routes and methods, bodies over the limit.
 */

/** After a 413 the rest of the body is read and dropped up to these bounds, then the socket is cut. */
export const DISCARD_LIMIT_BYTES = 64 * 1024 * 1024;
export const DISCARD_LIMIT_MS = 30_000;

/** The longest path segment (a subject id: 128 characters); a longer one is 414. */
export const MAX_PARAM_LENGTH = 128;

/** The longest URL served; a longer one is 414 (also when it overflows the 16 kB of headers). */
export const MAX_URL_LENGTH = 8 * 1024;

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/** Options of the Fastify instance (the adapter) for refusals that happen before routing. */
export function refusalOptions(): Pick<
  FastifyServerOptions,
  'frameworkErrors' | 'clientErrorHandler' | 'routerOptions'
> {
  return {
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors(err, _request, anyReply) {
      const reply = anyReply as FastifyReply;
      const [status, code, detail] =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? [414, 'URI_TOO_LONG', `a path segment of the URL is longer than ${MAX_PARAM_LENGTH} characters`]
          : err.code === 'FST_ERR_BAD_URL'
            ? [400, 'VALIDATION_FAILED', 'the URL is malformed (invalid percent-encoding)']
            : [500, 'INTERNAL', 'an unexpected error occurred; it has been logged'];
      void reply
        .code(status)
        .header('content-type', PROBLEM_TYPE)
        .send(problem(status, code, detail));
    },
    clientErrorHandler: onClientError,
  };
}

/** Malformed HTTP (Node's parser refused it): there is no request object, only the socket. */
function onClientError(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  // An answer is out already (a 413 whose body is being drained, then timed out): no second one.
  if ((socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent)
    return void socket.destroy();
  let answer: Problem;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const head = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.subarray(0, MAX_URL_LENGTH + 2).toString('latin1') : '';
    answer = head.includes('\r\n')
      ? problem(431, 'REQUEST_HEADERS_TOO_LARGE', 'the request headers are larger than 16 kB')
      : problem(414, 'URI_TOO_LONG', `the URL is longer than ${MAX_URL_LENGTH / 1024} kB`);
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    answer = problem(408, 'REQUEST_TIMEOUT', 'the request was not received in time');
  } else {
    answer = problem(400, 'MALFORMED_REQUEST', 'the request is not valid HTTP/1.1');
  }
  const body = JSON.stringify(answer);
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: ${PROBLEM_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // Read on (and drop) what the client still sends, so that closing does not reset the
  // connection under the answer before the client has read it.
  socket.resume();
  setTimeout(() => socket.destroy(), 5_000).unref();
}

/** Routes by method, to tell an unknown path (404) from a known path with another method (405). */
interface RouteEntry {
  url: string;
  pattern: RegExp;
  methods: Set<string>;
}
const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Installs the hooks; call before the routes are registered (before `app.init()`). */
export function installRefusals(fastify: FastifyInstance): void {
  // JSON bodies only (CONTRACT.md): Fastify's default text/plain parser would let a string
  // through to validation (400) where the media type is what is wrong (415).
  fastify.removeContentTypeParser('text/plain');
  const table: RouteEntry[] = [];
  routeTables.set(fastify, table);
  fastify.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    let entry = table.find((e) => e.url === url);
    if (!entry) table.push((entry = { url, pattern: routePattern(url), methods: new Set() }));
    for (const m of [route.method].flat()) entry.methods.add(m);
    if (entry.methods.has('GET')) entry.methods.add('HEAD');
  });
  fastify.addHook('onRequest', async (request, reply) => {
    if (request.url.length <= MAX_URL_LENGTH) return;
    // Returning the reply tells Fastify the answer is sent and the request goes no further.
    return reply
      .code(414)
      .header('content-type', PROBLEM_TYPE)
      .send(problem(414, 'URI_TOO_LONG', `the URL is longer than ${MAX_URL_LENGTH / 1024} kB`));
  });
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode === 413) discardRestOfBody(request, reply);
    return asProblem(reply, payload);
  });
}

/** `/v1/conversations/:id` → a RegExp over the path of a request URL. */
function routePattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/** Every route registered after installRefusals, with its methods (HEAD included for GET). */
export function servedRoutes(fastify: FastifyInstance): { url: string; methods: string[] }[] {
  return (routeTables.get(fastify) ?? []).map((e) => ({ url: e.url, methods: [...e.methods].sort() }));
}

/** The methods the request's path is served with; empty for a path the service does not know. */
export function allowedMethods(request: FastifyRequest): string[] {
  const path = request.url.split('?')[0];
  const table = routeTables.get(request.server) ?? [];
  const methods = new Set(table.filter((e) => e.pattern.test(path)).flatMap((e) => [...e.methods]));
  return [...methods].sort();
}

/** 404 NOT_FOUND, or 405 METHOD_NOT_ALLOWED (with `Allow`) when the path is known. */
export function unmatchedRouteProblem(request: FastifyRequest, reply: FastifyReply): Problem {
  const allowed = allowedMethods(request);
  if (!allowed.length) return problem(404, 'NOT_FOUND', `no route ${request.url.split('?')[0]}`);
  void reply.header('allow', allowed.join(', '));
  return problem(405, 'METHOD_NOT_ALLOWED', `${request.method} is not served here; allowed: ${allowed.join(', ')}`);
}

/**
 * A client that sent a body over the limit is still writing it: closing now would reset the
 * connection under our 413 (the client sees EPIPE, never the answer). Keep the connection,
 * read and drop the rest, and cut it only past the bounds.
 */
function discardRestOfBody(request: FastifyRequest, reply: FastifyReply): void {
  reply.removeHeader('connection');
  const raw = request.raw;
  if (raw.complete) return;
  let received = 0;
  const cut = () => raw.socket?.destroy();
  const timer = setTimeout(cut, DISCARD_LIMIT_MS).unref();
  raw.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > DISCARD_LIMIT_BYTES) cut();
  });
  raw.once('end', () => clearTimeout(timer));
  raw.once('close', () => clearTimeout(timer));
  raw.resume();
}

/** Safety net: an error answered in Fastify's or Nest's own JSON shape becomes problem+json. */
function asProblem(reply: FastifyReply, payload: unknown): unknown {
  const converted = problemInsteadOf(reply.statusCode, String(reply.getHeader('content-type') ?? ''), payload);
  if (!converted) return payload;
  void reply.header('content-type', PROBLEM_TYPE);
  return converted;
}

/**
 * The problem+json body for an error body of the `{statusCode, error, message}` shape (Nest's 503
 * while shutting down, Fastify's defaults); null for anything else, which is left as it is.
 */
export function problemInsteadOf(status: number, contentType: string, payload: unknown): string | null {
  if (status < 400 || typeof payload !== 'string' || !/^application\/json/i.test(contentType)) return null;
  let body: { statusCode?: unknown; message?: unknown };
  try {
    body = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || typeof body.statusCode !== 'number') return null;
  const code = HTTP_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'HTTP_ERROR');
  return JSON.stringify(
    problem(status, code, typeof body.message === 'string' ? body.message : (STATUS_CODES[status] ?? 'error')),
  );
}
