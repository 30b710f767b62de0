import { AccessEntry, ALL_TENANTS, NO_TENANT } from '@app/access';
import { conversationIdOf } from '@app/conversation';
import type { Principal } from '../auth/api-keys';

/** What a read returned of one tenant: that tenant and the conversations it showed. */
export interface AccessTarget {
  tenantId: string;
  conversationIds: string[];
}

/** The request as the access log sees it (Fastify's). */
export interface AccessRequest {
  id: string;
  principal?: Principal;
  query?: unknown;
  routeOptions?: { url?: string };
}

/** Targets of events: grouped by their metadata's tenant, conversation streams by their id. */
export function eventTargets(events: { streamId: string; metadata: Record<string, unknown> }[]): AccessTarget[] {
  return events.map((e) => ({
    tenantId: typeof e.metadata.tenantId === 'string' ? e.metadata.tenantId : NO_TENANT,
    conversationIds: [conversationIdOf(e.streamId)].filter((id): id is string => id !== null),
  }));
}

/** The query as given, each value as text (a repeated parameter joined by commas). */
export function filterOf(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!query || typeof query !== 'object') return out;
  for (const [name, value] of Object.entries(query as Record<string, unknown>)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return out;
}

/**
 * The entries of one read: one per tenant whose data it returned, naming that tenant's
 * conversations (each once, in order of first appearance). A tenant's key reads its own tenant
 * only; a read that returned no tenant's data is one entry of the tenant asked for (`tenantId`
 * in the query) or, for a `*` key, of no tenant in particular (`*`).
 */
export function accessEntries(request: AccessRequest, targets: AccessTarget[], at = new Date()): AccessEntry[] {
  const who = request.principal;
  if (!who) return [];
  const filter = filterOf(request.query);
  const own = who.tenantId !== ALL_TENANTS;
  const byTenant = new Map<string, Set<string>>();
  for (const target of targets) {
    const tenantId = own ? who.tenantId : target.tenantId;
    const ids = byTenant.get(tenantId) ?? new Set<string>();
    byTenant.set(tenantId, ids);
    for (const id of target.conversationIds) ids.add(id);
  }
  if (byTenant.size === 0) byTenant.set(own ? who.tenantId : (filter.tenantId ?? NO_TENANT), new Set());
  return [...byTenant].map(([tenantId, ids]) => ({
    at: at.toISOString(),
    keyId: who.keyId,
    role: who.role,
    tenantId,
    route: request.routeOptions?.url ?? 'unmatched',
    conversationIds: [...ids],
    filter,
    requestId: request.id,
  }));
}
