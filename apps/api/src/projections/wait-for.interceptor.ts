import {
  CallHandler,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiQuery } from '@nestjs/swagger';
import { from, Observable, switchMap } from 'rxjs';
import { isPosition } from '@app/event-store';
import { ApiError } from '../common/api-error';
import { ReadDatabase } from '../database/read-database';
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

const READS_FROM = 'readsFrom';

/**
 * Where a route reads, when READ_DATABASE_URL names a replica (without one, everything is read on
 * the primary). `replica`: always there (the audit reads), so `?waitFor=` waits on the replica's
 * checkpoints. `replica-when-reached`: on the primary, which is never stale, unless `?waitFor=` is
 * given and the replica's projections have already processed it (then `@OnReplica()` is true).
 * Routes without it read on the primary and wait on its checkpoints.
 */
export const ReadsFrom = (place: 'replica' | 'replica-when-reached') => SetMetadata(READS_FROM, place);

const ON_REPLICA = Symbol('onReplica');

/** On a `replica-when-reached` route: true when this request is to be answered from the replica. */
export const OnReplica = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) =>
    ctx.switchToHttp().getRequest<{ [ON_REPLICA]?: boolean }>()[ON_REPLICA] === true,
);

/**
 * Read-your-writes on every GET: `?waitFor=` is validated and awaited here, then taken off the
 * query, so that the handlers and their DTOs never see it.
 */
@Injectable()
export class WaitForInterceptor implements NestInterceptor {
  constructor(
    private readonly waiter: ProjectionWaiter,
    private readonly reflector: Reflector,
    private readonly reads: ReadDatabase,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = ctx
      .switchToHttp()
      .getRequest<{ method: string; query?: Record<string, unknown>; [ON_REPLICA]?: boolean }>();
    if (request.method !== 'GET' || request.query?.waitFor === undefined) return next.handle();
    const { waitFor } = request.query;
    delete request.query.waitFor;
    if (typeof waitFor !== 'string' || !isPosition(waitFor)) {
      throw ApiError.validation('waitFor must be a position returned by this API', [
        { field: 'waitFor', messages: ['waitFor must be a position'] },
      ]);
    }
    const targets = [ctx.getHandler(), ctx.getClass()];
    const also = this.reflector.getAllAndOverride<string[] | undefined>(WAIT_FOR_ALSO, targets);
    const place = this.reflector.getAllAndOverride<string | undefined>(READS_FROM, targets);
    return from(this.wait(waitFor, place, also, request)).pipe(switchMap(() => next.handle()));
  }

  private async wait(
    position: string,
    place: string | undefined,
    also: string[] | undefined,
    request: { [ON_REPLICA]?: boolean },
  ): Promise<void> {
    if (!this.reads.hasReplica || place === undefined) return this.waiter.waitFor(position, undefined, also);
    if (place === 'replica') return this.waiter.waitOnReplica(position, undefined, also);
    // Served where the projections have reached the position: the replica when it has, at once;
    // else the primary, which waits as ever (the replica would only be further behind).
    if (await this.waiter.replicaHasReached(position, also)) request[ON_REPLICA] = true;
    else await this.waiter.waitFor(position, undefined, also);
  }
}
