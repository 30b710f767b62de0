import { HttpException } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { ApplicationError, type ApplicationRefusal } from '@app/application';
import { EventStoreError, TIMEOUT_SQLSTATES } from '@app/event-store';
import { ConversationError, type ConversationErrorCode } from '@app/conversation';
import { HoldAlreadyReleased, LegalHoldOpen, UnknownHold } from '@app/privacy';
import { ApiError, Problem, problem } from './api-error';

/** HTTP status of each domain error code (libs/conversation): a code missing here fails to compile. */
const DOMAIN_STATUS: Record<ConversationErrorCode, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  UNKNOWN_MESSAGE: 422,
  UNKNOWN_END: 422,
  CONVERSATION_EXISTS: 409,
  DUPLICATE_MESSAGE: 409,
  LINEAGE_ENDED: 409,
  ALREADY_RECORDED: 409,
  DUPLICATE_FLAG: 409,
  FLAG_ALREADY_CLEARED: 409,
  DUPLICATE_REVIEW: 409,
  SELF_REVIEW: 409,
};

/**
 * The application layer's refusals (libs/application) as API errors; the `never` check makes a
 * refusal added there without an answer here a compile error.
 */
export function applicationProblem(err: ApplicationRefusal): ApiError {
  switch (err.code) {
    case 'NOT_FOUND':
      return new ApiError(404, err.code, err.message);
    case 'VERSION_CONFLICT':
      return new ApiError(412, err.code, err.message, { currentVersion: err.currentVersion });
    case 'CONVERSATION_BUSY':
      return ApiError.unavailable(err.code, err.message, err.retryAfterSeconds);
    case 'CONVERSATION_TOO_LARGE':
      const { maxEvents, maxBytes } = err.limits;
      return new ApiError(422, err.code, err.message, { maxEvents, maxBytes });
    default: {
      const unanswered: never = err;
      return new ApiError(500, 'INTERNAL', `no answer for ${(unanswered as ApplicationError).code}`);
    }
  }
}

const STORE_STATUS: Record<string, number> = {
  VERSION_CONFLICT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  VALIDATION_FAILED: 400,
};

/** Errors raised by fastify before a request reaches Nest (body parsing, limits). */
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'VALIDATION_FAILED'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'VALIDATION_FAILED'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'VALIDATION_FAILED'],
};

export const HTTP_CODES: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'REQUEST_HEADERS_TOO_LARGE',
  503: 'UNAVAILABLE',
};

/**
 * SQLSTATEs of a server that is shutting down, starting, out of connections, or out of disk
 * space (53100: its data files cannot grow; nothing was written, a retry after space is freed
 * succeeds); and 40001, which a streaming replica (READ_DATABASE_URL) raises when it cancels a
 * read that conflicts with the WAL it replays (a vacuum's truncation, a rebuild's TRUNCATE): the
 * same read succeeds when tried again.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53100', '53300', '53400', '40001']);
/** Socket errors of an unreachable server, and pg's own for a dropped or slow connection. */
const UNAVAILABLE_SOCKET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
const UNAVAILABLE_MESSAGE = /^(timeout exceeded when trying to connect|Connection terminated|timeout expired)/;

/** Seconds a client should wait after a database failure. */
export const DATABASE_RETRY_AFTER_S = 2;

/**
 * A database failure as 503 with Retry-After; null for anything else. The detail never carries
 * the server's own text (it may name hosts, roles or tables).
 */
export function databaseFailure(err: unknown): ApiError | null {
  if (err instanceof DatabaseError) {
    const state = err.code ?? '';
    if (TIMEOUT_SQLSTATES.has(state)) {
      return ApiError.unavailable(
        'DATABASE_TIMEOUT',
        'the database did not answer in time; try again',
        DATABASE_RETRY_AFTER_S,
      );
    }
    return UNAVAILABLE_STATES.has(state) || state.startsWith('08') ? unavailable() : null;
  }
  // Duck-typed: socket errors are not always `instanceof Error` of this realm (jest, workers).
  if (typeof err !== 'object' || err === null || err instanceof ApiError) return null;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return UNAVAILABLE_SOCKET.has(code) ? unavailable() : null;
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message) ? unavailable() : null;
}

const unavailable = () =>
  ApiError.unavailable('DATABASE_UNAVAILABLE', 'the database is not reachable; try again', DATABASE_RETRY_AFTER_S);

export interface MappedError {
  problem: Problem;
  /** An unexpected (500) error, or a database failure: worth an operator's attention. */
  unexpected: boolean;
  retryAfterSeconds?: number;
  headers?: Record<string, string>;
}

/** Maps any thrown value to a problem. */
export function toProblem(err: unknown): MappedError {
  const failure = databaseFailure(err);
  if (failure) return { ...toProblem(failure), unexpected: true };
  if (err instanceof ApiError) {
    const { retryAfterSeconds, headers } = err;
    return {
      problem: problem(err.status, err.code, err.message, err.extra),
      unexpected: false,
      retryAfterSeconds,
      headers,
    };
  }
  if (err instanceof ApplicationError) return toProblem(applicationProblem(err as ApplicationRefusal));
  if (err instanceof ConversationError) {
    const status = DOMAIN_STATUS[err.code];
    return {
      problem: problem(status, err.code, err.message, err.details ? { details: err.details } : {}),
      unexpected: false,
    };
  }
  const subject = subjectProblem(err);
  if (subject) return { problem: subject, unexpected: false };
  if (err instanceof EventStoreError) {
    return { problem: problem(STORE_STATUS[err.code] ?? 409, err.code, err.message), unexpected: false };
  }
  const fastifyCode = (err as { code?: string } | null)?.code;
  if (fastifyCode && FASTIFY_CODES[fastifyCode]) {
    const [status, code] = FASTIFY_CODES[fastifyCode];
    const detail = status === 413 ? 'the request body is larger than 1 MB' : (err as Error).message;
    return { problem: problem(status, code, detail), unexpected: false };
  }
  if (err instanceof SyntaxError && 'body' in (err as object)) {
    return { problem: problem(400, 'VALIDATION_FAILED', 'the body is not valid JSON'), unexpected: false };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = HTTP_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'HTTP_ERROR');
    const body = err.getResponse();
    const extra = status === 503 && typeof body === 'object' ? { checks: body } : {};
    return { problem: problem(status, code, err.message, extra), unexpected: status >= 500 && status !== 503 };
  }
  const status = (err as { statusCode?: number } | null)?.statusCode;
  if (status && status >= 400 && status < 500) {
    return { problem: problem(status, HTTP_CODES[status] ?? 'HTTP_ERROR', (err as Error).message), unexpected: false };
  }
  return { problem: problem(500, 'INTERNAL', 'an unexpected error occurred; it has been logged'), unexpected: true };
}

/** Refusals about data subjects (libs/privacy): legal holds. */
function subjectProblem(err: unknown): Problem | null {
  if (err instanceof LegalHoldOpen) {
    const holds = err.holds.map((h) => ({ holdId: h.holdId, reason: h.reason, placedAt: h.placedAt.toISOString() }));
    return problem(409, 'LEGAL_HOLD', err.message, { holds });
  }
  if (err instanceof UnknownHold) return problem(404, 'NOT_FOUND', err.message);
  if (err instanceof HoldAlreadyReleased) {
    return problem(409, 'HOLD_ALREADY_RELEASED', err.message, { releasedAt: err.releasedAt.toISOString() });
  }
  return null;
}
