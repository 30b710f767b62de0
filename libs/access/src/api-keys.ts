import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { appendInTransaction, parseUuid } from '@app/event-store';
import { connectionOf } from '@app/platform';
import { apiKeyStreamId, createdEvent, KeyProvenance, provenance, revokedEvent, streamStarted } from './api-key-events';
import { ApiKeyEntity } from './api-key.entity';

export const ROLES = ['writer', 'operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The tenant of admin and auditor keys that see every tenant. */
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
export async function createApiKey(
  db: DataSource,
  input: NewApiKey,
): Promise<{ id: string; key: string; expiresAt: Date | null }> {
  if (!ROLES.includes(input.role as Role)) throw new KeyInputError('role', `must be one of ${ROLES.join(', ')}`);
  if (!TENANT.test(input.tenantId))
    throw new KeyInputError('tenant', 'must be * or 1-64 letters, digits, ".", "_" or "-"');
  if (input.tenantId === ALL_TENANTS && input.role !== 'admin' && input.role !== 'auditor') {
    throw new KeyInputError('tenant', '* (all tenants) is only for admin and auditor keys');
  }
  const label = text('label', input.label);
  const holder = text('holder', input.holder);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt && !(expiresAt.getTime() > Date.now())) throw new KeyInputError('expires', 'must be in the future');
  const by = provenance(input.actor);
  const key = `csk_${randomBytes(32).toString('base64url')}`;
  const row = db.getRepository(ApiKeyEntity).create({
    id: randomUUID(),
    keyHash: hashKey(key),
    role: input.role,
    tenantId: input.tenantId,
    label,
    holder,
    expiresAt,
    createdBy: by.actor.id,
  });
  await db.transaction(async (tx) => {
    // created_at is the database's (its default), read back into the row by the INSERT.
    await tx.insert(ApiKeyEntity, row);
    const events = [createdEvent(row, by)];
    await appendInTransaction(await connectionOf(tx), apiKeyStreamId(row.id), events, { expectedVersion: 'no_stream' });
  });
  return { id: row.id, key, expiresAt };
}

/**
 * Revokes a key: the row, its ApiKeyRevoked event and a NOTIFY to every API process commit
 * together. A key revoked already stays as it was (nothing recorded twice), but is announced
 * again, so a process that missed the first NOTIFY drops it now.
 */
export async function revokeApiKey(
  db: DataSource,
  keyId: string,
  options: { actor?: string; reason?: string } = {},
): Promise<{ revokedAt: Date; already: boolean }> {
  const id = parseKeyId(keyId);
  const reason = text('reason', options.reason);
  const by = provenance(options.actor);
  return db.transaction(async (tx) => {
    const row = await tx.findOne(ApiKeyEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!row) throw new UnknownApiKey(id);
    await tx.query('SELECT pg_notify($1, $2)', [API_KEY_REVOKED_CHANNEL, id]);
    if (row.revokedAt) return { revokedAt: row.revokedAt, already: true };
    // These two columns alone: the row guard refuses an update of anything else.
    const revoked = await tx
      .createQueryBuilder()
      .update(ApiKeyEntity)
      .set({ revokedAt: () => 'now()', revokedBy: by.actor.id })
      .where('id = :id', { id })
      .returning('revoked_at')
      .updateEntity(false)
      .execute();
    const revokedAt = (revoked.raw as { revoked_at: Date }[])[0].revoked_at;
    const connection = await connectionOf(tx);
    // A key from before keys had events gets its creation recorded first.
    const events = (await streamStarted(connection, id)) ? [] : [createdEvent(row, backfilled(by))];
    events.push(revokedEvent(row, revokedAt, reason, by));
    await appendInTransaction(connection, apiKeyStreamId(id), events, { expectedVersion: 'any' });
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
export async function listApiKeys(db: DataSource): Promise<ApiKeyListing[]> {
  const keys = await db.getRepository(ApiKeyEntity).find({ order: { createdAt: 'ASC', id: 'ASC' } });
  return keys.map((k) => ({
    id: k.id,
    label: k.label,
    holder: k.holder,
    role: k.role as Role,
    tenantId: k.tenantId,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
  }));
}
