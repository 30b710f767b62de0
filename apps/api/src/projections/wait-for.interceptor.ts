import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { from, Observable, switchMap } from 'rxjs';
import { isPosition } from '@app/event-store';
import { ApiError } from '../common/api-error';
import { ProjectionWaiter } from './projection-waiter';


/** Read-your-writes on every GET: `?waitFor=` holds the answer until the projections caught up. */
@Injectable()
export class WaitForInterceptor implements NestInterceptor {
  constructor(private readonly waiter: ProjectionWaiter) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = ctx.switchToHttp().getRequest<{ method: string; query?: Record<string, unknown> }>();
    const waitFor = request.method === 'GET' ? request.query?.waitFor : undefined;
    if (waitFor === undefined) return next.handle();
    if (typeof waitFor !== 'string' || !isPosition(waitFor)) {
      throw ApiError.validation('waitFor must be a position returned by this API', [{ field: 'waitFor', messages: ['waitFor must be a position'] }]);
    }
    return from(this.waiter.waitFor(waitFor)).pipe(switchMap(() => next.handle()));
  }
}
