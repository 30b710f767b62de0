import type { StoredEvent } from '@app/event-store';

/** Who sends a command: an API key, or a writer acting as one (the seed, a test driver). */
export interface Caller {
  keyId: string;
  role: string;
  /** ALL_TENANTS for a key of every tenant. */
  tenantId: string;
  /** The person the key was issued to, if named. */
  holder: string | null;
}

/** The tenant of a key that may see every tenant's conversations. */
export const ALL_TENANTS = '*';

/** What comes with a command besides its data: who, under which key, and the HTTP preconditions. */
export interface CommandContext {
  principal: Caller;
  /**
   * `caller`: a request's command, bounded by the conversation size limits. `service`: events
   * the service appends itself (e.g. erasure records), which those limits never refuse.
   */
  origin: 'caller' | 'service';
  /** From If-Match: the version the caller last saw. */
  ifMatch?: number;
  idempotency?: { key: string; requestHash: string };
  correlationId: string;
  causationId?: string;
}

export interface CommandOutcome {
  /** The events this command appended (or appended the first time, for a replay). */
  events: Pick<StoredEvent, 'eventId' | 'type' | 'data'>[];
  version: number;
  position: string;
  replayed: boolean;
}
