import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../common/api-error';
import type { Role } from '@app/access';
import type { Principal } from './api-keys';
import { ApiKeyResolver } from './api-key-resolver';
import { attachPrincipal } from './request-principal';
import { PUBLIC_KEY, ROLES_KEY } from './auth.decorators';

/** Every route needs a valid key unless marked @Public(); @Roles() narrows who may call. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyResolver,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const request = ctx
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal; raw?: object }>();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new ApiError(401, 'UNAUTHENTICATED', 'send an API key as "Authorization: Bearer <key>"');
    const principal = await this.keys.resolve(match[1]);
    if (!principal)
      throw new ApiError(401, 'UNAUTHENTICATED', 'the API key is not valid (unknown, revoked or expired)');
    request.principal = principal;
    attachPrincipal(request.raw ?? request, principal);
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && principal.role !== 'admin' && !roles.includes(principal.role)) {
      throw new ApiError(403, 'FORBIDDEN', `the ${principal.role} role may not do this`);
    }
    return true;
  }
}

/** Tenant scope: another tenant's conversation is answered as absent, so existence does not leak. */
export function assertTenant(principal: Principal, tenantId: string | undefined, what: string): void {
  if (principal.tenantId !== '*' && principal.tenantId !== tenantId) throw ApiError.notFound(what);
}
