/** `n` = the stream must be at exactly version n (0 = must not exist). */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export type EventMetadata = Record<string, unknown>;

export interface NewEvent {
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  /** The caller's time (ISO 8601). */
  occurredAt: string;
}

export interface IdempotencyOptions {
  /** Tenant and route, so one key never collides across them. */
  scope: string;
  key: string;
  /** SHA-256 hex of the request, compared on replay. */
  requestHash: string;
}

export interface AppendOptions {
  expectedVersion: ExpectedVersion;
  idempotency?: IdempotencyOptions;
}

export interface AppendResult {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  /** Opaque commit-order position of the last appended event. */
  position: string;
  eventIds: string[];
  /** True when an earlier append under the same idempotency key is returned again. */
  replayed: boolean;
}

export interface StoredEvent {
  position: string;
  streamId: string;
  version: number;
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  occurredAt: string;
  recordedAt: string;
  prevHash: string;
  hash: string;
}

/** A range of the log in commit order: after `after` (exclusive) through `through` (inclusive). */
export interface LogRange {
  after: string;
  through: string;
  /** Events in the range. */
  count: number;
}

/** The next range of the log (null: nothing new visible). */
export interface NextRange {
  range: LogRange | null;
  /**
   * Committed events after the range (or after `after`) wait behind an older transaction still
   * open. False after a full page (not looked for).
   */
  heldBack: boolean;
}

export interface ReadAllPage {
  events: StoredEvent[];
  /** Where the next read starts; the `after` given when nothing new was visible. */
  nextPosition: string | null;
}

export interface ChainVerification {
  valid: boolean;
  count: number;
  brokenAtVersion?: number;
  reason?: string;
  /** The first version that commits before the version under it (see firstOutOfCommitOrder). */
  outOfCommitOrderAt?: number;
}
