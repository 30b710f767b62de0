/** The tenant a query is limited to; undefined = every tenant. */
export interface TenantScope {
  tenantId?: string;
}

/**
 * Keys of one tenant see only that tenant's rows; `*` keys see all and may narrow to one.
 * Null: the caller asked for another tenant than its own, and sees nothing (not a 403, so a
 * tenant's existence does not leak).
 */
export function resolveTenantScope(keyTenant: string, requested: string | undefined): TenantScope | null {
  if (keyTenant === '*') return requested === undefined ? {} : { tenantId: requested };
  if (requested !== undefined && requested !== keyTenant) return null;
  return { tenantId: keyTenant };
}
