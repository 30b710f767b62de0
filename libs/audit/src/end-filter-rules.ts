// The rules of the audit filters' values, without a validation framework: the API's DTO
// decorators and the CLI's `export` flags both check by these, so the two refuse the same input.

/** A rule's pattern and what it says of a value that does not match (after the field's name). */
export interface FilterPattern {
  pattern: RegExp;
  message: string;
}

/** A date (YYYY-MM-DD, UTC midnight) or a date-time with Z or an offset; years 0001-9999. */
export const AUDIT_TIME: FilterPattern = {
  pattern: /^(?!0000)\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/,
  message: 'must be an ISO 8601 date or date-time with Z or an offset',
};
export const REAL_CALENDAR_DATE = 'must be a real calendar date';
export const YEARS_1_TO_9999 = 'must lie between the years 0001 and 9999 (UTC)';

/** An offset can push 0001-01-01 or 9999-12-31 out of PostgreSQL's range once in UTC. */
export function withinYears1To9999(value: unknown): boolean {
  const time = typeof value === 'string' ? new Date(value) : null;
  return !!time && !Number.isNaN(time.getTime()) && /^(?!0000)\d{4}-/.test(time.toISOString());
}

/** Model ids as the conversation commands accept them. */
export const MODEL_ID: FilterPattern & { maxLength: number } = {
  pattern: /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/,
  maxLength: 128,
  message: 'must be 1-128 letters, digits or . _ : @ -',
};

/** Tenant ids as API keys name them. */
export const TENANT_ID: FilterPattern & { maxLength: number } = {
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  maxLength: 64,
  message: 'must be 1-64 letters, digits, ".", "_" or "-"',
};

/** Policy versions are PostgreSQL integers from 1. */
export const MAX_POLICY_VERSION = 2_147_483_647;

/** The reason-code form (which codes exist is policy data, checked against the database). */
export const REASON_CODE_FORM = 'must be a reason code: upper-case letters, digits and _';
