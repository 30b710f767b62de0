import { HttpException } from '@nestjs/common';
import { EventStoreError } from '@app/event-store';
import { ConversationError } from '@app/conversation';
import { ApiError, Problem, problem } from './api-error';

/** HTTP status of each domain error code (libs/conversation). */
const DOMAIN_STATUS: Record<string, number> = {
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

/** Maps any thrown value to a problem; `null` status means an unexpected (500) error. */
export function toProblem(err: unknown): { problem: Problem; unexpected: boolean } {
  if (err instanceof ApiError) return { problem: problem(err.status, err.code, err.message, err.extra), unexpected: false };
  if (err instanceof ConversationError) {
    const status = DOMAIN_STATUS[err.code] ?? 409;
    return { problem: problem(status, err.code, err.message, err.details ? { details: err.details } : {}), unexpected: false };
  }
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
