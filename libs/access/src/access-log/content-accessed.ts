import { createHash, randomInt } from 'node:crypto';
import { NewEvent, newEventId, UNLISTED_STREAM_PREFIX } from '@app/event-store';
import type { Role } from '../api-keys';

/**
 * Who read what: one access entry per request (or per batch of a stream) and per tenant whose
 * data it returned. Stored as a `ContentAccessed` event in an access stream of that tenant,
 * `access-<tenant in lower case>-<shard>` (`*` for a read that returned no tenant's data; see
 * accessStreamTenant for tenant ids the stream-id CHECK would refuse), so
 * entries are hash-chained, append-only and leaves of the log like every event; the shards
 * keep one stream from becoming a lock every flush of every process waits on.
 */
export const CONTENT_ACCESSED = 'ContentAccessed';
export const ACCESS_STREAM_PREFIX = UNLISTED_STREAM_PREFIX;

/** The tenant of an entry whose read returned no tenant's data (an empty page of a `*` key). */
export const NO_TENANT = '*';

export interface AccessEntry {
  /** When the content was read (the process's clock, ISO 8601). */
  at: string;
  keyId: string;
  role: Role;
  /** The tenant whose data was read (`*`: none in particular). */
  tenantId: string;
  /** The route template, e.g. `/v1/conversations/:id/messages`. */
  route: string;
  /** The conversations whose content or detail the answer carried (lower case). */
  conversationIds: string[];
  /** The query the read was made with (filters, cursor), as given. */
  filter: Record<string, string>;
  /** X-Request-Id of the request (the service's or the caller's). */
  requestId: string;
}

/** The data of a ContentAccessed event: the entry without its time (the event's occurredAt). */
export type ContentAccessedData = Omit<AccessEntry, 'at'>;

/** Tenants named as they are in their access streams: the alphabet of the database's CHECK (migration AccessLog). */
const STREAM_SAFE_TENANT = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The tenant part of the stream name of a tenant id outside that alphabet: `sha256.` and 32 hex digits. */
export const HASHED_TENANT_PREFIX = 'sha256.';

/**
 * The tenant part of an access stream's name. A tenant id whose lower case the stream-id CHECK
 * takes (every tenant an API key can name: 1-64 letters, digits, `.`, `_`, `-`) and `*` are
 * their lower case, as they always were; any other string (empty, too long, other characters)
 * is `sha256.` and the first 32 hex digits of the SHA-256 of its lower case (UTF-8), so that an
 * entry of any tenant the service holds has a stream the database takes, always the same one.
 * Two tenants may share a stream (`A` and `a` do): the entry names its own tenant, which is
 * what the read model keeps, and a stream is only a hash chain of entries.
 */
export function accessStreamTenant(tenantId: string): string {
  const lower = tenantId.toLowerCase();
  if (lower === NO_TENANT || STREAM_SAFE_TENANT.test(lower)) return lower;
  return `${HASHED_TENANT_PREFIX}${createHash('sha256').update(lower, 'utf8').digest('hex').slice(0, 32)}`;
}

export const accessStreamId = (tenantId: string, shard: number): string =>
  `${ACCESS_STREAM_PREFIX}${accessStreamTenant(tenantId)}-${shard}`;

/** A shard at random: flushes of several processes rarely wait on one stream's lock. */
export const randomShard = (shards: number): number => randomInt(shards);

/** The event of an entry; its id is fixed once, so a retried flush can tell it was stored. */
export function contentAccessedEvent(entry: AccessEntry, eventId: string = newEventId()): NewEvent {
  const { at, ...data }: { at: string } & ContentAccessedData = entry;
  return {
    eventId,
    type: CONTENT_ACCESSED,
    data: { ...data, conversationIds: [...data.conversationIds], filter: { ...data.filter } },
    // No tenantId in the metadata: a tenant's feed (filtered on it) never meets access entries.
    metadata: { actor: { type: 'apiKey', id: entry.keyId }, requestId: entry.requestId },
    occurredAt: at,
  };
}
