import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './api-error';

/**
 * The one JSON body parser. Before a body reaches validation it must be what RFC 8259 says
 * JSON is on the wire (UTF-8, uncompressed) and small in shape, since class-transformer
 * recurses once per level (10,000 levels blew its stack: a 500) and works in time quadratic
 * in an object's members (60,000 members: seconds of a blocked event loop, 6 MB of errors).
 */
export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_MEMBERS = 1_000;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Replaces Fastify's application/json parser (install before the routes). */
export function installJsonBody(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let result: { err: Error | null; value?: unknown } = { err: null };
    try {
      assertIdentityCoding(request);
      assertUtf8Charset(String(request.headers['content-type'] ?? ''));
      const text = decodeUtf8(body as Buffer);
      assertShallow(text);
      // Fastify's own parser (prototype poisoning refused), synchronous.
      parseJson(request, text, (err, value) => (result = { err, value }));
      if (!result.err) assertFewMembers(result.value);
    } catch (err) {
      result = { err: err as Error };
    }
    done(result.err, result.value);
  });
}

/** 415 for a compressed body: read as is, it would be stored other than a decoding proxy checked it. */
function assertIdentityCoding(request: FastifyRequest): void {
  const coding = String(request.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (coding === '' || coding === 'identity') return;
  throw new ApiError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Encoding ${coding.slice(0, 40)} is not accepted; send the body uncompressed`,
    {},
    undefined,
    {
      'accept-encoding': 'identity',
    },
  );
}

/** 415 for a charset other than UTF-8: the bytes would be read as UTF-8 and stored altered. */
export function assertUtf8Charset(contentType: string): void {
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  if (!m) return;
  const charset = (m[1] ?? m[2]).toLowerCase();
  if (charset === 'utf-8' || charset === 'utf8') return;
  throw new ApiError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `JSON bodies are UTF-8; charset=${charset.slice(0, 40)} is not accepted`,
  );
}

function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw ApiError.validation('the body is not valid UTF-8');
  }
}

/** 400 for nesting deeper than MAX_JSON_DEPTH: one pass over the text, brackets in strings skipped. */
export function assertShallow(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH)
        throw ApiError.validation(`the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/** 400 for an object with more than MAX_JSON_MEMBERS members (the value is at most MAX_JSON_DEPTH deep). */
export function assertFewMembers(value: unknown): void {
  if (Array.isArray(value)) return value.forEach(assertFewMembers);
  if (typeof value !== 'object' || value === null) return;
  const keys = Object.keys(value);
  if (keys.length > MAX_JSON_MEMBERS)
    throw ApiError.validation(`an object of the body has more than ${MAX_JSON_MEMBERS} members`);
  for (const k of keys) assertFewMembers((value as Record<string, unknown>)[k]);
}
