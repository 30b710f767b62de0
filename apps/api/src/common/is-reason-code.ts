import { applyDecorators } from '@nestjs/common';
import { IsString, Matches } from 'class-validator';
import { REASON_CODE_FORM } from '@app/audit';
import { REASON_CODE_PATTERN, V1_REASON_CODES } from '@app/conversation';

const FIELDS = Symbol('reasonCodeFields');

/**
 * Which reason codes exist is policy data known at run time, so a DTO checks the form here and
 * marks the field; KnownReasonCodesPipe then checks the code against every known policy version.
 */
export const IsReasonCode = (): PropertyDecorator =>
  applyDecorators(
    IsString(),
    Matches(REASON_CODE_PATTERN, { message: `$property ${REASON_CODE_FORM}` }),
    (target: object, property: string | symbol) => {
      const own: string[] = Reflect.getOwnMetadata(FIELDS, target.constructor) ?? [];
      Reflect.defineMetadata(FIELDS, [...own, String(property)], target.constructor);
    },
  );

/** The fields a DTO class (or a class it extends) marked with IsReasonCode. */
export function reasonCodeFieldsOf(type: unknown): string[] {
  const fields: string[] = [];
  for (let c = type; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    fields.push(...((Reflect.getOwnMetadata(FIELDS, c) as string[] | undefined) ?? []));
  }
  return fields;
}

/** The OpenAPI schema of a reason code: a code word, since versions add and remove codes. */
export const REASON_CODE_SCHEMA = {
  type: String,
  pattern: REASON_CODE_PATTERN.source,
  maxLength: 64,
  example: 'ABUSE_OF_ASSISTANT',
};

export const REASON_CODE_DESCRIPTION =
  `A reason code. Each policy version declares its own (version 1: ${V1_REASON_CODES.join(', ')}); ` +
  'one that no version stored or in force declares is 400 VALIDATION_FAILED.';
