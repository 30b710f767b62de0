import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { appendInTransaction, parseUuid } from '@app/event-store';
import { apiKeyStreamId, createdEvent, KeyProvenance, KeyRow, provenance, revokedEvent, streamStarted } from './api-key-events';

export const ROLES = ['writer', 'operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: from the API key. `tenantId` '*' sees every tenant. */
export interface Principal {
  keyId: string;
  role: Role;
  tenantId: string;
  /** The person the key was issued to (`keys:create --holder`), if named. */
  holder: string | null;
  /** The key stops working at this time (null: never); open event streams close then. */
  expiresAt: Date | null;
}

export const ALL_TENANTS = '*';

/** NOTIFY channel of revocations; the payload is the key id. */
export const API_KEY_REVOKED_CHANNEL = 'api_key_revoked';

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Bad input to a key command; `flag` names the CLI flag at fault (`keyId`: the positional key id). */
export class KeyInputError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`${flag === 'keyId' ? '<keyId>' : `--${flag}`} ${message}`);
  }
}

/** keys:revoke of an id no key has. */
export class UnknownApiKey extends Error {
  constructor(readonly keyId: string) {
    super(`no API key has the id ${keyId}`);
  }
}

const TENANT = /^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A name or label: 1-200 characters, no control characters, no surrounding spaces kept. */
function text(flag: string, value: string | undefined): string | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed.length < 1 || trimmed.length > 200 || CONTROL.test(trimmed)) {
    throw new KeyInputError(flag, 'must be 1-200 characters without control characters');
  }
  return trimmed;
}

/** A key id as given (any letter case), lower-cased; not a UUID is bad input. */
export function parseKeyId(value: string | undefined): string {
  const id = parseUuid(value);
  if (!id) throw new KeyInputError('keyId', 'must be the UUID of a key (see keys:list)');
  return id;
}

export interface NewApiKey {
  role: string;
  tenantId: string;
  label?: string;
  holder?: string;
  expiresAt?: Date;
  /** Who creates it (recorded in its event); by default the OS user. */
  actor?: string;
}

/**
 * Creates a key; only its SHA-256 is stored, the key itself is shown once. The row and its
 * ApiKeyCreated event are written in one transaction: a key never works without its event.
 */
export async function createApiKey(pool: Pool, input: NewApiKey): Promise<{ id: string; key: string; expiresAt: Date | null }> {
  if (!ROLES.includes(input.role as Role)) throw new KeyInputError('role', `must be one of ${ROLES.join(', ')}`);
  if (!TENANT.test(input.tenantId)) throw new KeyInputError('tenant', 'must be * or 1-64 letters, digits, ".", "_" or "-"');
  if (input.tenantId === ALL_TENANTS && input.role !== 'admin' && input.role !== 'auditor') {
    throw new KeyInputError('tenant', '* (all tenants) is only for admin and auditor keys');
  }
  const label = text('label', input.label);
  const holder = text('holder', input.holder);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt && !(expiresAt.getTime() > Date.now())) throw new KeyInputError('expires', 'must be in the future');
  const by = provenance(input.actor);
  const id = randomUUID();
  const key = `csk_${randomBytes(32).toString('base64url')}`;
  await inTransaction(pool, async (client) => {
    const { rows } = await client.query<KeyRow>(
      `INSERT INTO api_keys (id, key_hash, role, tenant_id, label, holder, expires_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, role, tenant_id, label, holder, expires_at, created_at`,
      [id, hashKey(key), input.role, input.tenantId, label, holder, expiresAt, by.actor.id],
    );
    await appendInTransaction(client, apiKeyStreamId(id), [createdEvent(rows[0], by)], { expectedVersion: 'no_stream' });
  });
  return { id, key, expiresAt };
}

/**
 * Revokes a key: the row, its ApiKeyRevoked event and a NOTIFY to every API process commit
 * together. A key revoked already stays as it was (nothing recorded twice), but is announced
 * again, so a process that missed the first NOTIFY drops it now.
 */
export async function revokeApiKey(
  pool: Pool,
  keyId: string,
  options: { actor?: string; reason?: string } = {},
): Promise<{ revokedAt: Date; already: boolean }> {
  const id = parseKeyId(keyId);
  const reason = text('reason', options.reason);
  const by = provenance(options.actor);
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<KeyRow & { revoked_at: Date | null }>(
      `SELECT id, role, tenant_id, label, holder, expires_at, created_at, revoked_at FROM api_keys WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new UnknownApiKey(id);
    await client.query('SELECT pg_notify($1, $2)', [API_KEY_REVOKED_CHANNEL, id]);
    if (row.revoked_at) return { revokedAt: row.revoked_at, already: true };
    const revoked = await client.query<{ revoked_at: Date }>(
      'UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE id = $1 RETURNING revoked_at',
      [id, by.actor.id],
    );
    const revokedAt = revoked.rows[0].revoked_at;
    // A key from before keys had events gets its creation recorded first.
    const events = (await streamStarted(client, id)) ? [] : [createdEvent(row, backfilled(by))];
    events.push(revokedEvent(row, revokedAt, reason, by));
    await appendInTransaction(client, apiKeyStreamId(id), events, { expectedVersion: 'any' });
    return { revokedAt, already: false };
  });
}

const backfilled = (by: KeyProvenance): KeyProvenance => ({ ...by, source: 'backfill' });

export interface ApiKeyListing {
  id: string;
  label: string | null;
  holder: string | null;
  role: Role;
  tenantId: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** Every key, oldest first: never the key nor its hash. */
export async function listApiKeys(pool: Pool): Promise<ApiKeyListing[]> {
  const { rows } = await pool.query<{
    id: string; label: string | null; holder: string | null; role: Role; tenant_id: string;
    created_at: Date; last_used_at: Date | null; expires_at: Date | null; revoked_at: Date | null;
  }>(
    `SELECT id, label, holder, role, tenant_id, created_at, last_used_at, expires_at, revoked_at
       FROM api_keys ORDER BY created_at, id`,
  );
  return rows.map((r) => ({
    id: r.id, label: r.label, holder: r.holder, role: r.role, tenantId: r.tenant_id,
    createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at, revokedAt: r.revoked_at,
  }));
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
