import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsOptional, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';
import {
  AUDIT_TIME,
  decodeSequenceCursor,
  decodeTimeCursor,
  MODEL_ID,
  REAL_CALENDAR_DATE,
  TENANT_ID,
  withinYears1To9999,
  YEARS_1_TO_9999,
} from '@app/audit';

// Query-string rules shared by the audit DTOs. Anything that could reach PostgreSQL as a value
// it refuses (NUL, year 0, 31 February, a forged cursor) is a 400 here, never a 500 later.

type PropertyDecorator = (target: object, property: string) => void;
const all =
  (...decorators: PropertyDecorator[]): PropertyDecorator =>
  (target, property) => {
    for (const d of decorators) d(target, property);
  };

/** A date (YYYY-MM-DD, UTC midnight) or a date-time with Z or an offset; years 0001-9999. */
export const IsAuditTime = () =>
  all(
    IsString(),
    Matches(AUDIT_TIME.pattern, { message: `$property ${AUDIT_TIME.message}` }),
    IsDateString({ strict: true }, { message: `$property ${REAL_CALENDAR_DATE}` }),
    ValidateBy({
      name: 'isWithinYears1To9999',
      validator: { validate: withinYears1To9999, defaultMessage: () => `$property ${YEARS_1_TO_9999}` },
    }),
  );

/** Model ids as the conversation commands accept them. */
export const IsModelId = () =>
  all(
    IsString(),
    MaxLength(MODEL_ID.maxLength),
    Matches(MODEL_ID.pattern, { message: `$property ${MODEL_ID.message}` }),
  );

/** Tenant ids as API keys name them. */
export const IsTenantId = () =>
  all(
    IsString(),
    MaxLength(TENANT_ID.maxLength),
    Matches(TENANT_ID.pattern, { message: `$property ${TENANT_ID.message}` }),
  );

export const IsOneOf = (list: readonly string[]) =>
  IsIn(list as string[], { message: `$property must be one of: ${list.join(', ')}` });

const cursor = (name: string, decode: (raw: unknown) => unknown) =>
  ValidateBy({
    name,
    validator: {
      validate: (value: unknown) => decode(value) !== null,
      defaultMessage: () => 'cursor must be a nextCursor returned by this list',
    },
  });

/**
 * A cursor of a list ordered by (time, id) in the object's `order` (default desc): a cursor
 * handed out for the other order is refused (400), as the order is part of it.
 */
export const IsOrderedTimeCursor = () =>
  ValidateBy({
    name: 'isOrderedTimeCursor',
    validator: {
      validate: (value: unknown, args) => {
        const order = (args?.object as { order?: unknown }).order ?? 'desc';
        return (order === 'desc' || order === 'asc') && decodeTimeCursor(value, order) !== null;
      },
      defaultMessage: () => 'cursor must be a nextCursor returned by this list in the same order',
    },
  });

/** A cursor of a list ordered by (time, id). */
export const IsTimeCursor = () => cursor('isTimeCursor', decodeTimeCursor);
/** A cursor over the event log (compliance). */
export const IsSequenceCursor = () => cursor('isSequenceCursor', decodeSequenceCursor);

/** `?cursor=` of a newest-first list ordered by (time, id): optional, a nextCursor it handed out. */
export const TimeCursorParam = () =>
  applyDecorators(
    ApiPropertyOptional({ description: 'The nextCursor of the previous page (opaque)' }),
    IsOptional(),
    IsTimeCursor(),
  );
