import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';

export const ROLES = ['writer', 'operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: from the API key. `tenantId` '*' sees every tenant. */
export interface Principal {
  keyId: string;
  role: Role;
  tenantId: string;
  /** When the key stops working, if it expires (open event streams close then). */
  expiresAt?: Date;
}

export const ALL_TENANTS = '*';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

const TENANT = /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;

/** Creates a key; only its SHA-256 is stored, the key itself is shown once. */
export async function createApiKey(
  pool: Pool,
  input: { role: string; tenantId: string; label?: string },
): Promise<{ id: string; key: string }> {
  if (!ROLES.includes(input.role as Role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  if (!TENANT.test(input.tenantId)) throw new Error('--tenant must be * or 1-64 letters, digits, ".", "_" or "-"');
  if (input.tenantId === ALL_TENANTS && input.role !== 'admin' && input.role !== 'auditor') {
    throw new Error('only admin and auditor keys may span all tenants (--tenant *)');
  }
  const id = randomUUID();
  const key = `csk_${randomBytes(32).toString('base64url')}`;
  await pool.query('INSERT INTO api_keys (id, key_hash, role, tenant_id, label) VALUES ($1, $2, $3, $4, $5)', [
    id,
    hashKey(key),
    input.role,
    input.tenantId,
    input.label ?? null,
  ]);
  return { id, key };
}

/** Key lookups, cached briefly: a revoked key stops working within `ttlMs`. */
export class ApiKeyResolver {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 30_000,
  ) {}

  async resolve(key: string): Promise<Principal | null> {
    const hash = hashKey(key);
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.principal;
    const { rows } = await this.pool.query<{ id: string; role: Role; tenant_id: string }>({
      name: 'api_key_lookup',
      text: 'SELECT id, role, tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      values: [hash],
    });
    const principal = rows[0] ? { keyId: rows[0].id, role: rows[0].role, tenantId: rows[0].tenant_id } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: Date.now() + this.ttlMs });
    return principal;
  }
}
