import { resolveTenantScope, type TenantScope } from '@app/audit';
import type { Principal } from '../auth/api-keys';

/** The answer to a key that asked for another tenant than its own: nothing (not 403: no leak). */
export const EMPTY_PAGE = { items: [], nextCursor: null };

/** An audit read within the caller's tenant scope (resolveTenantScope), or `empty` outside it. */
export async function inTenantScope<T>(
  who: Principal,
  requested: string | undefined,
  empty: T,
  read: (scope: TenantScope) => Promise<T>,
): Promise<T> {
  const scope = resolveTenantScope(who.tenantId, requested);
  return scope ? read(scope) : empty;
}
