import { randomInt } from 'node:crypto';
import { NewEvent, newEventId, UNLISTED_STREAM_PREFIX } from '@app/event-store';
import type { Role } from '../api-keys';

/**
 * Who read what: one access entry per request (or per batch of a stream) and per tenant whose
 * data it returned. Stored as a `ContentAccessed` event in an access stream of that tenant,
 * `access-<tenant in lower case>-<shard>` (`*` for a read that returned no tenant's data), so
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

export const accessStreamId = (tenantId: string, shard: number): string =>
  `${ACCESS_STREAM_PREFIX}${tenantId.toLowerCase()}-${shard}`;

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
