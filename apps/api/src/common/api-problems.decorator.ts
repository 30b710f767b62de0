import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';

export class ProblemDto {
  @ApiProperty({ example: '/problems/validation-failed' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ example: 400 }) status: number;
  @ApiProperty({ example: 'content must be shorter than or equal to 100000 characters' }) detail: string;
  @ApiProperty({
    example: 'VALIDATION_FAILED',
    description:
      'Stable code: VALIDATION_FAILED, NOT_FOUND, VERSION_CONFLICT, LINEAGE_ENDED, END_BLOCKED, IDEMPOTENCY_KEY_REUSED, UNAUTHENTICATED, FORBIDDEN, PAYLOAD_TOO_LARGE, …',
  })
  code: string;
  @ApiPropertyOptional({ description: 'Field errors of a VALIDATION_FAILED', example: [{ field: 'role', messages: ['role must be one of: user, assistant'] }] })
  errors?: { field: string; messages: string[] }[];
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED: malformed body, query or id',
  401: 'UNAUTHENTICATED: no valid API key',
  403: "FORBIDDEN: the key's role may not do this",
  404: 'NOT_FOUND (also for another tenant’s conversation)',
  409: 'Conflict (VERSION_CONFLICT, LINEAGE_ENDED, END_BLOCKED, …)',
  412: 'VERSION_CONFLICT: If-Match does not match the current version',
  413: 'PAYLOAD_TOO_LARGE: body over 1 MB',
  422: 'IDEMPOTENCY_KEY_REUSED, CONVERSATION_TOO_LARGE, or a referenced message or end that does not exist',
  429: 'RATE_LIMITED: the key or the client address is over its rate (Retry-After: seconds)',
  503: 'BUSY (capped audit reads at their limit), DATABASE_TIMEOUT, DATABASE_UNAVAILABLE (each with Retry-After), or WAIT_FOR_TIMEOUT',
};

/** Documents problem+json answers for the given statuses. */
export const ApiProblems = (...statuses: number[]) =>
  applyDecorators(
    ApiExtraModels(ProblemDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status],
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) } } },
      }),
    ),
  );
