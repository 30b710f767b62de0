import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { buildMessage, ValidateBy } from 'class-validator';
import { parseUuid } from '@app/event-store';

const lowerCase = (value: unknown): unknown => parseUuid(value) ?? value;

/**
 * Every body or query field holding a UUID: accepted in any letter case and lower-cased before
 * validation, so handlers, the idempotency hash and the store only ever see the lower-case form.
 * `each`: an array of UUIDs.
 */
export const IsUuid = (options: { each?: boolean } = {}) =>
  applyDecorators(
    Transform(({ value }) => (options.each && Array.isArray(value) ? value.map(lowerCase) : lowerCase(value))),
    ValidateBy(
      {
        name: 'isUuid',
        validator: {
          validate: (value: unknown) => parseUuid(value) !== null,
          defaultMessage: buildMessage((each) => `${each}$property must be a UUID`, options),
        },
      },
      options,
    ),
  );
