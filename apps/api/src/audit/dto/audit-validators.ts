import { IsDateString, IsIn, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';
import { decodeSequenceCursor, decodeTimeCursor } from '@app/audit';

// Query-string rules shared by the audit DTOs. Anything that could reach PostgreSQL as a value
// it refuses (NUL, year 0, 31 February, a forged cursor) is a 400 here, never a 500 later.

type PropertyDecorator = (target: object, property: string) => void;
const all =
  (...decorators: PropertyDecorator[]): PropertyDecorator =>
  (target, property) => {
    for (const d of decorators) d(target, property);
  };

/** A date (YYYY-MM-DD, UTC midnight) or a date-time with Z or an offset; years 0001-9999. */
export const ISO_TIME = /^(?!0000)\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;
export const IsAuditTime = () =>
  all(
    IsString(),
    Matches(ISO_TIME, { message: '$property must be an ISO 8601 date or date-time with Z or an offset' }),
    IsDateString({ strict: true }, { message: '$property must be a real calendar date' }),
    ValidateBy({
      name: 'isWithinYears1To9999',
      validator: {
        // An offset can push 0001-01-01 or 9999-12-31 out of PostgreSQL's range once in UTC.
        validate: (value: unknown) => {
          const time = typeof value === 'string' ? new Date(value) : null;
          return !!time && !Number.isNaN(time.getTime()) && /^(?!0000)\d{4}-/.test(time.toISOString());
        },
        defaultMessage: () => '$property must lie between the years 0001 and 9999 (UTC)',
      },
    }),
  );

/** Model ids as the conversation commands accept them. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const IsModelId = () => all(IsString(), MaxLength(128), Matches(ID, { message: '$property must be 1-128 letters, digits or . _ : @ -' }));

/** Tenant ids as API keys name them. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const IsTenantId = () => all(IsString(), MaxLength(64), Matches(TENANT, { message: '$property must be 1-64 letters, digits, ".", "_" or "-"' }));

export const IsOneOf = (list: readonly string[]) => IsIn(list as string[], { message: `$property must be one of: ${list.join(', ')}` });

const cursor = (name: string, decode: (raw: unknown) => unknown) =>
  ValidateBy({
    name,
    validator: {
      validate: (value: unknown) => decode(value) !== null,
      defaultMessage: () => 'cursor must be a nextCursor returned by this list',
    },
  });

/** A cursor of a list ordered by (time, id). */
export const IsTimeCursor = () => cursor('isTimeCursor', decodeTimeCursor);
/** A cursor over the event log (compliance). */
export const IsSequenceCursor = () => cursor('isSequenceCursor', decodeSequenceCursor);
