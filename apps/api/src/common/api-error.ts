/** An error answered as RFC 9457 problem+json with a stable upper-case `code`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    /** Sent as `Retry-After` (whole seconds) with 429 and 503 answers. */
    readonly retryAfterSeconds?: number,
    /** Other headers the answer carries (e.g. `Accept-Encoding` with a 415). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  /** 429: the caller (a key or an address) is over its rate. */
  static rateLimited(detail: string, retryAfterSeconds: number): ApiError {
    return new ApiError(429, 'RATE_LIMITED', detail, {}, retryAfterSeconds);
  }

  /** 503 with a code and when to try again (BUSY, DATABASE_TIMEOUT, DATABASE_UNAVAILABLE). */
  static unavailable(code: string, detail: string, retryAfterSeconds: number): ApiError {
    return new ApiError(503, code, detail, {}, retryAfterSeconds);
  }

  static validation(detail: string, errors?: FieldError[]): ApiError {
    return new ApiError(400, 'VALIDATION_FAILED', detail, errors ? { errors } : {});
  }

  static notFound(what: string): ApiError {
    return new ApiError(404, 'NOT_FOUND', `${what} was not found`);
  }
}

export interface FieldError {
  field: string;
  messages: string[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extra: string]: unknown;
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return {
    type: `/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
}
