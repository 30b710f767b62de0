import { Pool, DatabaseError } from 'pg';
import { canonicalBody, verifyChain } from './hash-chain';
import { IdempotencyKeyReused, InvalidEvent, VersionConflict } from './errors';
import { formatPosition, parsePosition, START } from './position';
import {
  AppendOptions,
  AppendResult,
  ChainVerification,
  ExpectedVersion,
  NewEvent,
  ReadAllPage,
  StoredEvent,
} from './types';

export interface EventStoreObserver {
  appended?(streamId: string, count: number): void;
  conflicted?(streamId: string): void;
}

const APPEND_SQL = 'SELECT es_append($1, $2, $3, $4, $5, $6) AS r';

const EVENT_COLUMNS = `transaction_id::text AS tx, position::text AS pos, stream_id, stream_version,
  event_id, type, data, metadata, occurred_at, recorded_at, prev_hash, hash`;

interface EventRow {
  tx: string;
  pos: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurred_at: Date;
  recorded_at: Date;
  prev_hash: string;
  hash: string;
}

function toStoredEvent(r: EventRow): StoredEvent {
  return {
    position: formatPosition({ transactionId: r.tx, position: r.pos }),
    streamId: r.stream_id,
    version: Number(r.stream_version),
    eventId: r.event_id,
    type: r.type,
    data: r.data,
    metadata: r.metadata,
    occurredAt: r.occurred_at.toISOString(),
    recordedAt: r.recorded_at.toISOString(),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function toAppendResult(r: AppendResultRow, replayed: boolean): AppendResult {
  return {
    streamId: r.streamId,
    firstVersion: r.firstVersion,
    lastVersion: r.lastVersion,
    position: formatPosition({ transactionId: r.transactionId, position: String(r.lastPosition) }),
    eventIds: r.eventIds,
    replayed,
  };
}

function expectedCode(v: ExpectedVersion): number {
  if (v === 'any') return -1;
  if (v === 'stream_exists') return -2;
  if (v === 'no_stream') return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidEvent(`invalid expected version ${v}`);
  return v;
}

/** Plain JSON (drops undefined), and refuses what jsonb cannot keep (NUL characters). */
function jsonClean<T>(value: T, what: string): T {
  const text = JSON.stringify(value);
  if (text.includes('\\u0000')) throw new InvalidEvent(`${what} contains a NUL character`);
  return JSON.parse(text) as T;
}

/**
 * The PostgreSQL event store: append with an expected version, read a stream, read all in
 * commit order. No domain knowledge: streams of typed JSON events.
 */
export class PostgresEventStore {
  private notifying = false;
  private notifyAgain = false;

  constructor(
    private readonly pool: Pool,
    private readonly observer: EventStoreObserver = {},
  ) {}

  /**
   * Wakes subscribers (LISTEN es_events) after a commit. Outside the append transaction and
   * coalesced to one NOTIFY in flight at a time: a NOTIFY inside every append would serialize
   * all committing appends on PostgreSQL's notification queue lock. A lost wake-up only
   * delays readers until their next poll.
   */
  private wakeSubscribers(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    this.pool
      .query({ name: 'es_notify', text: "SELECT pg_notify('es_events', '')" })
      .catch(() => undefined)
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain) {
          this.notifyAgain = false;
          this.wakeSubscribers();
        }
      });
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (events.length === 0) throw new InvalidEvent('nothing to append');
    const payload = events.map((e) => {
      const occurredAt = new Date(e.occurredAt).toISOString();
      const data = jsonClean(e.data, 'data');
      const metadata = jsonClean(e.metadata, 'metadata');
      const body = canonicalBody({ streamId, type: e.type, data, metadata, occurredAt });
      return { eventId: e.eventId, type: e.type, data, metadata, occurredAt, body };
    });
    const idem = options.idempotency;
    try {
      const { rows } = await this.pool.query<{ r: AppendResultRow }>({
        name: 'es_append',
        text: APPEND_SQL,
        values: [
          streamId,
          expectedCode(options.expectedVersion),
          JSON.stringify(payload),
          idem?.scope ?? null,
          idem?.key ?? null,
          idem?.requestHash ?? null,
        ],
      });
      const r = rows[0].r;
      if (!r.replayed) {
        this.observer.appended?.(streamId, events.length);
        this.wakeSubscribers();
      }
      return toAppendResult(r, r.replayed);
    } catch (err) {
      if (idem && err instanceof DatabaseError && err.code === '23505' && err.constraint === 'es_idempotency_pkey') {
        // The same key's first use committed on another stream meanwhile: answer as a replay.
        const first = await this.findIdempotentResult(idem.scope, idem.key);
        if (first && first.requestHash === idem.requestHash) return first.result;
        throw new IdempotencyKeyReused(idem.key);
      }
      throw this.translate(err, streamId, options);
    }
  }

  private translate(err: unknown, streamId: string, options: AppendOptions): unknown {
    if (!(err instanceof DatabaseError)) return err;
    if (err.code === 'ES001' || (err.code === '23505' && err.constraint === 'es_events_stream_id_stream_version_key')) {
      this.observer.conflicted?.(streamId);
      return new VersionConflict(streamId, String(options.expectedVersion), Number(err.detail ?? NaN));
    }
    if (err.code === 'ES002') return new IdempotencyKeyReused(options.idempotency?.key ?? '');
    if (err.code === '23505' && err.constraint === 'es_events_event_id_key') {
      return new InvalidEvent('an event with this eventId is already stored');
    }
    return err;
  }

  /** The stream's current version (0 when it does not exist). */
  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await this.pool.query<{ version: string }>({
      name: 'es_stream_version',
      text: 'SELECT version::text FROM es_streams WHERE stream_id = $1',
      values: [streamId],
    });
    return rows.length ? Number(rows[0].version) : 0;
  }

  async readStream(streamId: string, range: { fromVersion?: number; toVersion?: number } = {}): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventRow>({
      name: 'es_read_stream',
      text: `SELECT ${EVENT_COLUMNS} FROM es_events
              WHERE stream_id = $1 AND stream_version BETWEEN $2 AND $3
              ORDER BY stream_version`,
      values: [streamId, range.fromVersion ?? 1, range.toVersion ?? Number.MAX_SAFE_INTEGER],
    });
    return rows.map(toStoredEvent);
  }

  /**
   * Events in commit order after `after`. Only transactions older than every transaction
   * still open are visible, so an event that commits late is delayed, never skipped.
   */
  async readAll(options: { after?: string | null; limit?: number } = {}): Promise<ReadAllPage> {
    const from = options.after ? parsePosition(options.after) : START;
    const limit = Math.min(Math.max(options.limit ?? 500, 1), 10_000);
    const { rows } = await this.pool.query<EventRow>({
      name: 'es_read_all',
      text: `SELECT ${EVENT_COLUMNS} FROM es_events
              WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
                AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY transaction_id, position
              LIMIT $3`,
      values: [from.transactionId, from.position, limit],
    });
    const events = rows.map(toStoredEvent);
    return { events, nextPosition: events.length ? events[events.length - 1].position : (options.after ?? null) };
  }

  /** The newest committed position, for lag figures (null on an empty log). */
  async headPosition(): Promise<string | null> {
    const { rows } = await this.pool.query<{ tx: string; pos: string }>(
      `SELECT transaction_id::text AS tx, position::text AS pos FROM es_events
        ORDER BY transaction_id DESC, position DESC LIMIT 1`,
    );
    return rows.length ? formatPosition({ transactionId: rows[0].tx, position: rows[0].pos }) : null;
  }

  async readByEventIds(eventIds: string[]): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM es_events WHERE event_id = ANY($1::uuid[]) ORDER BY stream_version`,
      [eventIds],
    );
    return rows.map(toStoredEvent);
  }

  /** The first result stored under an idempotency key, if any. */
  async findIdempotentResult(scope: string, key: string): Promise<{ requestHash: string; result: AppendResult } | null> {
    const { rows } = await this.pool.query<{ request_hash: string; result: AppendResultRow }>(
      'SELECT request_hash, result FROM es_idempotency WHERE scope = $1 AND key = $2',
      [scope, key],
    );
    const row = rows[0];
    if (!row) return null;
    return { requestHash: row.request_hash, result: toAppendResult(row.result, true) };
  }

  async verifyStream(streamId: string): Promise<ChainVerification> {
    return verifyChain(await this.readStream(streamId));
  }

  /** Stream ids in order, a page at a time (for whole-store verification). */
  async listStreams(after: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ stream_id: string }>(
      'SELECT stream_id FROM es_streams WHERE stream_id > $1 ORDER BY stream_id LIMIT $2',
      [after ?? '', limit],
    );
    return rows.map((r) => r.stream_id);
  }
}

interface AppendResultRow {
  streamId: string;
  firstVersion: number;
  lastVersion: number;
  transactionId: string;
  lastPosition: number;
  eventIds: string[];
  replayed: boolean;
}
