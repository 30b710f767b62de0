import type { Principal } from './api-keys';

const PRINCIPAL = Symbol('principal');

/**
 * The caller's principal on the raw Node request too, where the request logger (pino-http)
 * looks when it writes the request's line.
 */
export function attachPrincipal(raw: object, principal: Principal): void {
  (raw as { [PRINCIPAL]?: Principal })[PRINCIPAL] = principal;
}

/** What every request log line says of the caller: key id, role and tenant; never the key. */
export function principalLogFields(raw: object): { keyId?: string; role?: string; tenantId?: string } {
  const principal = (raw as { [PRINCIPAL]?: Principal })[PRINCIPAL];
  return principal ? { keyId: principal.keyId, role: principal.role, tenantId: principal.tenantId } : {};
}
