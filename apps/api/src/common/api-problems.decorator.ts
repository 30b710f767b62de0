import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiHeader,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { ApiWaitFor } from '../projections/wait-for.interceptor';
import { MAX_PARAM_LENGTH } from './fastify-refusals';

export class FieldErrorDto {
  @ApiProperty({ example: 'role', description: 'The field, dotted for nested ones (forkedFrom.messageId)' })
  field: string;
  @ApiProperty({ type: [String], example: ['role must be one of: user, assistant'] }) messages: string[];
}

/** RFC 9457 problem details; members beyond these are extensions named per code. */
export class ProblemDto {
  @ApiProperty({ format: 'uri-reference', example: '/problems/validation-failed' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 }) status: number;
  @ApiProperty({ example: 'role must be one of: user, assistant' }) detail: string;
  @ApiProperty({
    pattern: '^[A-Z][A-Z0-9_]*$',
    example: 'VALIDATION_FAILED',
    description:
      'Stable upper-case code (VALIDATION_FAILED, NOT_FOUND, VERSION_CONFLICT, …); each status below names its codes',
  })
  code: string;
  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Field errors of a VALIDATION_FAILED' })
  errors?: FieldErrorDto[];
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Facts of a domain refusal, e.g. `invalidMessageIds`',
    example: { invalidMessageIds: ['00000000-0000-4000-8000-000000000002'] },
  })
  details?: Record<string, unknown>;
}

interface HeaderDoc {
  description: string;
  required?: boolean;
  schema: { type: 'integer'; minimum: number };
}
const RETRY_AFTER: HeaderDoc = {
  description: 'Seconds to wait before trying again',
  schema: { type: 'integer', minimum: 0 },
};

/** What each status means wherever it is answered; an operation may say more. */
const MEANING: Record<number, string> = {
  400: 'VALIDATION_FAILED (with `errors`): a malformed body, query, header or id',
  401: 'UNAUTHENTICATED: no valid API key (missing, unknown, revoked or expired)',
  403: "FORBIDDEN: the key's role (or tenant) may not do this",
  404: 'NOT_FOUND (also for another tenant’s conversation, so existence does not leak)',
  409:
    'VERSION_CONFLICT (other processes kept moving the stream, past the retries), ' +
    'LINEAGE_ENDED, DUPLICATE_MESSAGE, CONVERSATION_EXISTS, ALREADY_RECORDED, …',
  412: 'VERSION_CONFLICT: If-Match does not name the current version (`currentVersion` says which is)',
  413: 'PAYLOAD_TOO_LARGE: the body is over 1 MB',
  414: `URI_TOO_LONG: a path segment over ${MAX_PARAM_LENGTH} characters, or a URL over 8 kB`,
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not application/json',
  422:
    'IDEMPOTENCY_KEY_REUSED (another request under the key), UNKNOWN_MESSAGE, ' +
    'CONVERSATION_TOO_LARGE (the conversation is at its event or byte limit)',
  429: 'RATE_LIMITED: too many requests from this key or address; see Retry-After',
  431: 'REQUEST_HEADERS_TOO_LARGE: the request line and headers are over 16 kB',
  500: 'INTERNAL: an unexpected error (logged with the request id)',
  503: 'WAIT_FOR_TIMEOUT (`?waitFor=` not reached in 5 s), DATABASE_TIMEOUT or DATABASE_UNAVAILABLE (with Retry-After)',
};

/** Problems that come with Retry-After: always for 429, for the 503 codes that say so. */
const HEADERS: Record<number, Record<string, HeaderDoc>> = {
  429: { 'Retry-After': { ...RETRY_AFTER, required: true } },
  503: {
    'Retry-After': {
      ...RETRY_AFTER,
      description:
        'Sent with BUSY, CONVERSATION_BUSY, DATABASE_TIMEOUT, DATABASE_UNAVAILABLE and ACCESS_LOG_UNAVAILABLE',
    },
  },
};

export type ProblemEntry = number | [status: number, description: string];

/** The response object of a problem status, as the document carries it. */
export function problemResponse(status: number, description = MEANING[status]) {
  if (!description) throw new Error(`no description for problem status ${status}`);
  return {
    description,
    ...(HEADERS[status] ? { headers: HEADERS[status] } : {}),
    content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) } } },
  };
}

/** Documents application/problem+json answers; a later entry for a status replaces an earlier one. */
export const ApiProblems = (...entries: ProblemEntry[]) => {
  const byStatus = new Map<number, string | undefined>(entries.map((e) => (Array.isArray(e) ? e : [e, undefined])));
  return applyDecorators(
    ApiExtraModels(ProblemDto, FieldErrorDto),
    ...[...byStatus].map(([status, description]) => ApiResponse({ status, ...problemResponse(status, description) })),
  );
};

/** The problems of every answer, whatever the route: limits, rate limits, the unexpected. */
export const EVERY_ROUTE_PROBLEMS: ProblemEntry[] = [414, 429, 431, 500];

const READ_503 =
  'WAIT_FOR_TIMEOUT (`?waitFor=` not reached in 5 s), DATABASE_TIMEOUT or DATABASE_UNAVAILABLE (with Retry-After)';
const CAPPED_503 = `BUSY (too many such requests at once; with Retry-After), ${READ_503}`;

/** A GET: `?waitFor=` (400 beyond the head of the log, 503 when not reached) and the database. */
export const ApiReadProblems = (...more: ProblemEntry[]) =>
  applyDecorators(
    ApiWaitFor(),
    ApiProblems(
      [400, 'VALIDATION_FAILED (with `errors`): a malformed query or id, or `?waitFor=` beyond the head of the log'],
      401,
      403,
      [503, READ_503],
      ...more,
    ),
  );

/** A GET of the capped kind (export, timeline, compliance, sample): 503 BUSY at the cap. */
export const ApiCappedReadProblems = (...more: ProblemEntry[]) => ApiReadProblems([503, CAPPED_503], ...more);

const ACCESS_LOG_503 =
  'ACCESS_LOG_UNAVAILABLE (reads of content are recorded and the access log cannot take more entries now; ' +
  'with Retry-After)';

/** A GET whose answer is recorded in the access log: 503 ACCESS_LOG_UNAVAILABLE rather than unrecorded. */
export const ApiRecordedReadProblems = (...more: ProblemEntry[]) =>
  ApiReadProblems([503, `${ACCESS_LOG_503}, ${READ_503}`], ...more);

/** A capped GET whose answer is recorded in the access log. */
export const ApiRecordedCappedReadProblems = (...more: ProblemEntry[]) =>
  ApiReadProblems([503, `${ACCESS_LOG_503}, ${CAPPED_503}`], ...more);

/** The headers every command takes. */
export const ApiCommandHeaders = () =>
  applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description: 'Replays return the first answer; 1-200 visible ASCII characters',
    }),
    ApiHeader({ name: 'If-Match', required: false, description: 'The ETag last seen, e.g. "3" (412 if stale)' }),
  );

export const COMMAND_503: ProblemEntry = [
  503,
  'CONVERSATION_BUSY (its command queue is full), DATABASE_TIMEOUT or DATABASE_UNAVAILABLE; each with Retry-After',
];

/** A command on an existing conversation: body, idempotency, If-Match, limits, its queue. */
export const ApiCommandProblems = (...more: ProblemEntry[]) =>
  applyDecorators(ApiCommandHeaders(), ApiProblems(400, 401, 403, 404, 409, 412, 413, 415, 422, COMMAND_503, ...more));
