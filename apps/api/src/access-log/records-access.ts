import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { map, Observable } from 'rxjs';
import { AccessRecorder } from './access-recorder';
import { AccessRequest, AccessTarget } from './access-targets';

const RECORDS_ACCESS = 'access:records';
const NOTED = Symbol('access:noted');

/** What a route's answer read, by tenant; the request carries what its handler noted. */
export type TargetsOf = (result: unknown, request: AccessRequest) => AccessTarget[];

/** What the handler noted (noteRead), else nothing. */
export const noted: TargetsOf = (_result, request) => (request as { [NOTED]?: AccessTarget[] })[NOTED] ?? [];

/** A handler that knows what it read (the conversation's tenant) says so for its route's entry. */
export function noteRead(request: object, tenantId: string, conversationIds: string[]): void {
  const holder = request as { [NOTED]?: AccessTarget[] };
  (holder[NOTED] ??= []).push({ tenantId, conversationIds });
}

/**
 * The route returns content or audit detail: its answer is recorded in the access log before
 * it is sent (AccessInterceptor), or refused with 503 ACCESS_LOG_UNAVAILABLE.
 */
export const RecordsAccess = (targets: TargetsOf = noted) => applyDecorators(SetMetadata(RECORDS_ACCESS, targets));

/**
 * Records the reads of routes marked RecordsAccess: the buffer must have room before the handler
 * runs (so a full log costs no database work), and takes the entries when the answer is ready,
 * before it is serialised and sent.
 */
@Injectable()
export class AccessInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly recorder: AccessRecorder,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const targets = this.reflector.get<TargetsOf | undefined>(RECORDS_ACCESS, ctx.getHandler());
    if (!targets) return next.handle();
    const request = ctx.switchToHttp().getRequest<AccessRequest>();
    this.recorder.assertRoom();
    return next.handle().pipe(
      map((result: unknown) => {
        this.recorder.record(request, targets(result, request));
        return result;
      }),
    );
  }
}
