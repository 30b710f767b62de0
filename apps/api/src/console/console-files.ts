import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { ConsoleConfig } from '@app/platform';
import { problem } from '../common/api-error';

/** Where the console is served; its client-side routes are paths under it. */
export const CONSOLE_PATH = '/console';

/** The headers of every answer under /console: the console runs only its own files. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

/** Hashed file names: cached for good. Everything else is revalidated on every use. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};
const OTHER_MEDIA_TYPE = 'application/octet-stream';

/** The media types the console's files are answered with (for the OpenAPI document). */
export const CONSOLE_MEDIA_TYPES = [...new Set([...Object.values(MEDIA_TYPES), OTHER_MEDIA_TYPE])].map(
  (type) => type.split(';')[0],
);

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

const isConsolePath = (url: string): boolean => {
  const path = url.split('?')[0];
  return path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);
};

/**
 * A path under /console as the client gave it (percent-decoded by the router), as a relative
 * file path; null for anything that is not a plain path of plain names: `..` and `.` segments,
 * dot files, empty segments, back slashes, NUL, and any `%` left after decoding (a double
 * encoding). Client-side routes never need any of these.
 */
function plainRelativePath(path: string): string | null {
  if (path === '') return '';
  if (/[\\\0%]/.test(path)) return null;
  const segments = path.split('/');
  if (segments.some((s, i) => (s === '' && i < segments.length - 1) || s.startsWith('.'))) return null;
  return path;
}

/**
 * Serves the built console (CONSOLE_DIR) under /console, without a key (its files hold no
 * data; the API calls it makes need one): the files as they are, index.html for /console and
 * for any other path that is not a file (client-side routes; a missing file under assets/ is a
 * 404), /console/config.json from the configuration. Installed on Fastify itself, so the
 * address's rate limit (an onRequest hook) applies as to every route.
 */
export function installConsole(fastify: FastifyInstance, config: ConsoleConfig): void {
  const root = resolve(config.dir);
  const index = resolve(root, 'index.html');
  const configJson = JSON.stringify({ verifierKeys: config.verifierKeys });

  // Every answer under /console (429s and problems too). A callback, not async: it runs on every request.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (isConsolePath(request.url)) void reply.headers(CONSOLE_SECURITY_HEADERS);
    done(null, payload);
  });

  const refuse = (reply: FastifyReply, status: number, code: string, detail: string) =>
    reply
      .code(status)
      .header('content-type', PROBLEM_TYPE)
      .header('cache-control', 'no-store')
      .send(problem(status, code, detail));

  const serveFile = async (reply: FastifyReply, file: string, cacheControl: string) =>
    reply
      .code(200)
      .header('content-type', MEDIA_TYPES[extname(file).toLowerCase()] ?? OTHER_MEDIA_TYPE)
      .header('cache-control', cacheControl)
      .send(await readFile(file));

  const isFile = async (file: string): Promise<boolean> => {
    try {
      return (await stat(file)).isFile();
    } catch {
      return false;
    }
  };

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!(await isFile(index)))
      return refuse(
        reply,
        503,
        'CONSOLE_NOT_BUILT',
        'the console is not built here (build apps/console into dist/console, or set CONSOLE_DIR to a built console)',
      );
    const wildcard = (request.params as { '*'?: string })['*'] ?? '';
    const relative = plainRelativePath(wildcard);
    if (relative === null) return refuse(reply, 404, 'NOT_FOUND', `no file ${request.url.split('?')[0]}`);
    if (relative === '' || relative.endsWith('/')) return serveFile(reply, index, REVALIDATE);
    const notFound = () => refuse(reply, 404, 'NOT_FOUND', `no file ${request.url.split('?')[0]}`);
    const file = resolve(root, relative);
    // resolve() cannot climb out of a path of plain names; checked all the same.
    if (!file.startsWith(root + sep)) return notFound();
    if (await isFile(file)) {
      // A link inside the build that leads out of it serves nothing.
      const [realRoot, realFile] = await Promise.all([realpath(root), realpath(file)]);
      if (!realFile.startsWith(realRoot + sep)) return notFound();
      return serveFile(reply, realFile, relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
    }
    if (relative.startsWith('assets/')) return notFound();
    return serveFile(reply, index, REVALIDATE);
  };

  fastify.get(CONSOLE_PATH, serve);
  fastify.get(`${CONSOLE_PATH}/*`, serve);
  fastify.get(`${CONSOLE_PATH}/config.json`, async (_request, reply) =>
    reply
      .code(200)
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', REVALIDATE)
      .send(configJson),
  );
}
