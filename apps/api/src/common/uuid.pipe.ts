import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { parseUuid } from '@app/event-store';
import { ApiError } from './api-error';

/**
 * A UUID path parameter, in any letter case, handed on in lower case: `ABC…` and `abc…` name the
 * same conversation, and only the lower-case form ever reaches a stream id. Anything else is 400.
 */
@Injectable()
export class UuidPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, { data }: ArgumentMetadata): string {
    const id = parseUuid(value);
    if (id !== null) return id;
    const field = data ?? 'id';
    const message = `${field} in the path must be a UUID`;
    throw ApiError.validation(message, [{ field, messages: [message] }]);
  }
}
