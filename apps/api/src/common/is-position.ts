import { ValidateBy, ValidationOptions } from 'class-validator';
import { isPosition } from '@app/event-store';

/** A position (`<transaction>-<sequence>`) within the database's ranges. */
export const IsPosition = (options?: ValidationOptions) =>
  ValidateBy({ name: 'isPosition', validator: { validate: (v) => typeof v === 'string' && isPosition(v) } }, options);
