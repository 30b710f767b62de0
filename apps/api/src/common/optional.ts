import { ValidateIf } from 'class-validator';

/**
 * An optional field of a request body: absent, or valid. Unlike IsOptional, a null is not taken
 * for absent: the field's own checks judge it (and refuse it, naming the field), so a null never
 * reaches a command as a value nor passes for "not given" (the OpenAPI document says none of
 * these fields is nullable). A field where null means something says so with its own ValidateIf.
 */
export const Optional = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);
