import type { IncomingMessage } from 'node:http';
import { principalLogFields } from '../auth/request-principal';

/** What pino's `redact` wrote in place of a credential. */
export const REDACTED = '[Redacted]';

/**
 * The request as its log line shows it, the key (Authorization) and any cookie replaced by
 * "[Redacted]": what pino's `redact` of those two paths wrote, without its clone of the whole
 * line for every request. `req` is pino-std-serializers' fresh copy; its headers are the live
 * request's, so they are copied, never changed.
 */
export function redactCredentials<R extends { headers?: Record<string, unknown> }>(req: R): R {
  const headers = req.headers;
  if (!headers || (headers.authorization === undefined && headers.cookie === undefined)) return req;
  const copy = { ...headers };
  if (copy.authorization !== undefined) copy.authorization = REDACTED;
  if (copy.cookie !== undefined) copy.cookie = REDACTED;
  req.headers = copy;
  return req;
}

/**
 * The caller's key id, role and tenant for the request's log line; undefined before the key is
 * known (pino-http then makes no child logger for nothing: an empty binding added nothing).
 */
export function principalLogProps(req: IncomingMessage): ReturnType<typeof principalLogFields> {
  const fields = principalLogFields(req);
  return (fields.keyId === undefined ? undefined : fields) as ReturnType<typeof principalLogFields>;
}
