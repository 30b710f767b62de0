import { hostname, userInfo } from 'node:os';
import type { ClientBase } from 'pg';
import { appendInTransaction, NewEvent, newEventId, VersionConflict } from '@app/event-store';
import type { ApiKeyEntity } from './api-key.entity';

/**
 * Creating and revoking API keys are administrative facts, recorded as events in a stream per
 * key (`apikey-<id>`): who, when, role, tenant, holder, label, expiry; never the key or its
 * hash. The metadata carries no tenantId, so only all-tenant (`*`) keys see them in the feed.
 */
export const API_KEY_STREAM_PREFIX = 'apikey-';
export const apiKeyStreamId = (keyId: string): string => `${API_KEY_STREAM_PREFIX}${keyId.toLowerCase()}`;

/** What a key's events tell of it. */
export type KeyRow = Pick<ApiKeyEntity, 'id' | 'role' | 'tenantId' | 'label' | 'holder' | 'expiresAt' | 'createdAt'>;

/** Who acted: the person (`--actor`, else the OS user), and the OS account and host it ran on. */
export interface KeyProvenance {
  actor: { type: 'operator' | 'system'; id: string };
  osUser: string;
  host: string;
  source?: 'backfill';
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export function provenance(actor: string | undefined): KeyProvenance {
  const user = osUser();
  return { actor: { type: 'operator', id: actor?.trim() || user }, osUser: user, host: hostname() };
}

const keyFacts = (row: KeyRow) => ({
  keyId: row.id,
  role: row.role,
  tenantId: row.tenantId,
  holder: row.holder,
  label: row.label,
  expiresAt: row.expiresAt?.toISOString() ?? null,
});

const metadataOf = (by: KeyProvenance) => ({ ...by, actor: { ...by.actor } });

export function createdEvent(row: KeyRow, by: KeyProvenance): NewEvent {
  return {
    eventId: newEventId(),
    type: 'ApiKeyCreated',
    data: keyFacts(row),
    metadata: metadataOf(by),
    occurredAt: row.createdAt.toISOString(),
  };
}

export function revokedEvent(row: KeyRow, revokedAt: Date, reason: string | null, by: KeyProvenance): NewEvent {
  return {
    eventId: newEventId(),
    type: 'ApiKeyRevoked',
    data: { ...keyFacts(row), reason },
    metadata: metadataOf(by),
    occurredAt: revokedAt.toISOString(),
  };
}

/** Whether the key's stream has its first event. */
export async function streamStarted(client: ClientBase, keyId: string): Promise<boolean> {
  const { rows } = await client.query('SELECT 1 FROM es_events WHERE stream_id = $1 AND stream_version = 1', [
    apiKeyStreamId(keyId),
  ]);
  return rows.length > 0;
}

/**
 * Keys made before keys had events (or by hand in SQL) get their creation, and revocation if
 * any, recorded now, at their original times and marked `source: backfill`. Several processes
 * may run this at once: a stream already started is left alone. Returns how many were recorded.
 */
export async function recordUnrecordedKeys(client: ClientBase): Promise<number> {
  const { rows } = await client.query<KeyRow & Pick<ApiKeyEntity, 'revokedAt' | 'createdBy' | 'revokedBy'>>(
    `SELECT k.id, k.role, k.tenant_id AS "tenantId", k.label, k.holder, k.expires_at AS "expiresAt",
            k.created_at AS "createdAt", k.revoked_at AS "revokedAt", k.created_by AS "createdBy",
            k.revoked_by AS "revokedBy"
       FROM api_keys k
      WHERE NOT EXISTS (SELECT 1 FROM es_events e WHERE e.stream_id = '${API_KEY_STREAM_PREFIX}' || k.id::text ` +
      `AND e.stream_version = 1)
      ORDER BY k.created_at`,
  );
  let recorded = 0;
  for (const row of rows) {
    const system = (id: string | null): KeyProvenance => ({
      actor: id ? { type: 'operator', id } : { type: 'system', id: 'backfill' },
      osUser: osUser(),
      host: hostname(),
      source: 'backfill',
    });
    const events = [createdEvent(row, system(row.createdBy))];
    if (row.revokedAt) events.push(revokedEvent(row, row.revokedAt, null, system(row.revokedBy)));
    try {
      await appendInTransaction(client, apiKeyStreamId(row.id), events, { expectedVersion: 'no_stream' });
      recorded++;
    } catch (err) {
      if (!(err instanceof VersionConflict)) throw err;
    }
  }
  return recorded;
}
