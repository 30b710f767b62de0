import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiQuery } from '@nestjs/swagger';
import { from, Observable, switchMap } from 'rxjs';
import { isPosition } from '@app/event-store';
import { ApiError } from '../common/api-error';
import { ProjectionWaiter } from './projection-waiter';

/**
 * Documents `?waitFor=` on a GET (ApiReadProblems does, for every read). The parameter is this
 * interceptor's alone: no query DTO declares it.
 */
export const ApiWaitFor = () =>
  ApiQuery({
    name: 'waitFor',
    required: false,
    type: String,
    description:
      'A `position` from a command response: answer once the projections processed it (at most 5 s, then 503)',
    example: '7311-42',
  });

const WAIT_FOR_ALSO = 'waitForAlso';

/**
 * On a controller or route: `?waitFor=` also waits for these runners (checkpoint names), beside
 * the projections; e.g. the transparency log's routes wait for its sequencer.
 */
export const WaitForAlso = (...names: string[]) => SetMetadata(WAIT_FOR_ALSO, names);

/**
 * Read-your-writes on every GET: `?waitFor=` is validated and awaited here, then taken off the
 * query, so that the handlers and their DTOs never see it.
 */
@Injectable()
export class WaitForInterceptor implements NestInterceptor {
  constructor(
    private readonly waiter: ProjectionWaiter,
    private readonly reflector: Reflector,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = ctx.switchToHttp().getRequest<{ method: string; query?: Record<string, unknown> }>();
    if (request.method !== 'GET' || request.query?.waitFor === undefined) return next.handle();
    const { waitFor } = request.query;
    delete request.query.waitFor;
    if (typeof waitFor !== 'string' || !isPosition(waitFor)) {
      throw ApiError.validation('waitFor must be a position returned by this API', [
        { field: 'waitFor', messages: ['waitFor must be a position'] },
      ]);
    }
    const also = this.reflector.getAllAndOverride<string[] | undefined>(WAIT_FOR_ALSO, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    return from(this.waiter.waitFor(waitFor, undefined, also)).pipe(switchMap(() => next.handle()));
  }
}
