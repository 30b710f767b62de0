import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Principal } from '../auth/api-keys';
import { RateLimits } from './rate-limits';

/** Runs after ApiKeyGuard (registered after it): the authenticated key's own token bucket. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimits) {}

  canActivate(ctx: ExecutionContext): boolean {
    const principal = ctx.switchToHttp().getRequest<{ principal?: Principal }>().principal;
    if (principal) this.limits.checkKey(principal.keyId);
    return true;
  }
}
