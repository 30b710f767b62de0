import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { ALL_TENANTS, type Principal } from '../auth/api-keys';
import { ApiError } from '../common/api-error';

/** Subject ids as callers give them: 1-200 characters, no control characters (case kept: ids are exact). */
export const MAX_SUBJECT_ID = 200;
const SUBJECT_ID = /^(?:[^\u0000-\u001f\u007f\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$/;

@Injectable()
export class SubjectIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, { data }: ArgumentMetadata): string {
    if (typeof value === 'string' && [...value].length <= MAX_SUBJECT_ID && SUBJECT_ID.test(value)) return value;
    const field = data ?? 'subjectId';
    const message = `${field} must be 1-${MAX_SUBJECT_ID} characters without control characters`;
    throw ApiError.validation(message, [{ field, messages: [message] }]);
  }
}

/**
 * The tenant a subject request is about: subject ids are per tenant. A key of one tenant acts on
 * its own (naming another is 403), a key of all tenants (*) must name one (400 without).
 */
export function subjectTenant(who: Principal, requested: string | undefined): string {
  if (who.tenantId !== ALL_TENANTS) {
    if (requested !== undefined && requested !== who.tenantId) {
      throw new ApiError(403, 'FORBIDDEN', 'this key may only act on subjects of its own tenant');
    }
    return who.tenantId;
  }
  if (!requested) {
    throw ApiError.validation('a key of all tenants (*) must give tenantId: subject ids are per tenant', [
      { field: 'tenantId', messages: ['tenantId is required for * keys'] },
    ]);
  }
  return requested;
}
