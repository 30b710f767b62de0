import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { canonicalize } from 'json-canonicalize';
import type { CommandContext } from '@app/application';
import { parseUuid } from '@app/event-store';
import type { Principal } from '../auth/api-keys';
import { ApiError } from '../common/api-error';

const KEY = /^[\x21-\x7e]{1,200}$/;
const IF_MATCH = /^(?:W\/)?"(\d{1,15})"$/;

/**
 * Idempotency-Key, If-Match and tracing headers → the command context. `body` is the validated
 * DTO (its ids already lower case), so the request hash covers the request as normalised:
 * `ABC…` and `abc…` under one key are one request, a replay.
 */
export function commandContext(request: FastifyRequest, principal: Principal, body: unknown): CommandContext {
  const header = (name: string) => {
    const v = request.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const key = header('idempotency-key');
  if (key !== undefined && !KEY.test(key)) {
    throw ApiError.validation('Idempotency-Key must be 1-200 visible ASCII characters');
  }
  const ifMatchRaw = header('if-match');
  let ifMatch: number | undefined;
  if (ifMatchRaw !== undefined) {
    const m = IF_MATCH.exec(ifMatchRaw.trim());
    if (!m) throw ApiError.validation('If-Match must be an ETag from this API, e.g. "3"');
    ifMatch = Number(m[1]);
  }
  // Only a keyed command needs the hash: canonicalising a large body is not free.
  const idempotency = key === undefined ? undefined : { key, requestHash: requestHashOf(request, body) };
  const correlationId = header('x-correlation-id');
  const causationId = header('x-causation-id');
  return {
    principal,
    origin: 'caller',
    ifMatch,
    idempotency,
    correlationId: correlationId && correlationId.length <= 128 ? correlationId : String(request.id),
    causationId: causationId && causationId.length <= 128 ? causationId : undefined,
  };
}

/** SHA-256 of the normalised request: method, path with lower-case ids, the validated body. */
const requestHashOf = (request: FastifyRequest, body: unknown): string =>
  createHash('sha256')
    .update(canonicalize({ method: request.method, path: normalisedPath(request), body: body ?? null }))
    .digest('hex');

/**
 * The path as the route spells it with each parameter that is a UUID in lower case. For a
 * request already in lower case this is its path, so hashes stored before stay valid.
 */
function normalisedPath(request: FastifyRequest): string {
  const route = request.routeOptions?.url;
  if (!route) return request.url.split('?')[0];
  const params = (request.params ?? {}) as Record<string, string>;
  return route.replace(/:(\w+)/g, (_, name: string) => parseUuid(params[name]) ?? params[name]);
}
