import { ArgumentMetadata, Inject, Injectable, PipeTransform } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { reasonCodeFieldsOf } from '../common/is-reason-code';
import { POLICIES, PolicyBook } from './policies';

/**
 * After validation: every field marked IsReasonCode holds a code some known policy version
 * declares (any version: reviews and filters look back at old ends). A code word no version
 * declares is a malformed request, 400, never an end attempt; whether the version in force lets
 * an end use it is the domain's guard (REASON_NOT_ALLOWED).
 */
@Injectable()
export class KnownReasonCodesPipe implements PipeTransform {
  constructor(@Inject(POLICIES) private readonly policies: PolicyBook) {}

  transform(value: unknown, { metatype }: ArgumentMetadata): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const unknown = reasonCodeFieldsOf(metatype).filter((field) => {
      const code = (value as Record<string, unknown>)[field];
      return code !== undefined && !this.policies.knowsReasonCode(code);
    });
    if (unknown.length === 0) return value;
    const fields = unknown.map((field) => ({
      field,
      messages: [`${field} must be one of: ${this.policies.reasonCodes.join(', ')}`],
    }));
    throw ApiError.validation(fields.map((f) => f.messages[0]).join('; '), fields);
  }
}
