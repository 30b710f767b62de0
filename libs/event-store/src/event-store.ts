import { Pool, DatabaseError } from 'pg';
import { AppendBatcher, DEFAULT_GROUP_COMMIT, GroupCommitOptions } from './append-batcher';
import { AppendResultRow, encodeAppend, toAppendResult } from './append-request';
import { firstOutOfCommitOrder, verifyStreamChain } from './hash-chain';
import { IdempotencyKeyReused, InvalidEvent, VersionConflict } from './errors';
import { EVENT_COLUMNS, EventRow, readStreamHead, toStoredEvent } from './event-row';
import { formatPosition, GlobalPosition, parsePosition, START } from './position';
import {
  AppendOptions,
  AppendResult,
  ChainVerification,
  LogRange,
  NewEvent,
  NextRange,
  ReadAllPage,
  StoredEvent,
} from './types';

/** The channel the append functions NOTIFY at commit: LISTEN on it to read on at once, not at the next poll. */
export const APPEND_CHANNEL = 'es_events';

export interface EventStoreObserver {
  appended?(streamId: string, count: number): void;
  conflicted?(streamId: string): void;
}

/**
 * Events after ($1, $2) in commit order that every reader may see: only transactions older than
 * every transaction still open, so an event that commits late is delayed, never skipped.
 */
const VISIBLE_AFTER = `(transaction_id, position) > ($1::xid8, $2::bigint)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;

/**
 * Streams whose names start so are the service's own records of reads (access entries): stored,
 * chained and sequenced like every stream, but left out of the public feed (`readAll`'s
 * `listedOnly`), so that reading the feed does not feed itself. The database keeps only
 * `ContentAccessed` events in them (migration 1764401300000), and a partial index walks the
 * rest of the log in commit order.
 */
export const UNLISTED_STREAM_PREFIX = 'access-';
const LISTED = `stream_id NOT LIKE '${UNLISTED_STREAM_PREFIX}%'`;

/** The most events a read of the log returns (or a range covers) at once, whatever its limit. */
export const MAX_READ_PAGE = 10_000;

/** Where a readAll page starts and how long it may be (1..MAX_READ_PAGE, 500 by default). */
function pageOf(options: { after?: string | null; limit?: number }): { from: GlobalPosition; limit: number } {
  return {
    from: options.after ? parsePosition(options.after) : START,
    limit: Math.min(Math.max(options.limit ?? 500, 1), MAX_READ_PAGE),
  };
}

/**
 * The PostgreSQL event store: append with an expected version, read a stream, read all in
 * commit order. No domain knowledge: streams of typed JSON events.
 */
export class PostgresEventStore {
  private readonly batcher: AppendBatcher;

  constructor(
    /** The pool it runs on (its writers also make content keys there). */
    readonly pool: Pool,
    private readonly observer: EventStoreObserver = {},
    groupCommit: Partial<GroupCommitOptions> = {},
  ) {
    this.batcher = new AppendBatcher(pool, { ...DEFAULT_GROUP_COMMIT, ...groupCommit });
  }

  /** Closes the store's own connection (batches go out on one); the pool stays open. */
  close(): Promise<void> {
    return this.batcher.close();
  }

  /**
   * Appends with an expected version, in one transaction. Concurrent appends share round
   * trips and commits (AppendBatcher); each keeps its own checks, result and error.
   */
  async append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    const request = encodeAppend(streamId, events, options);
    const outcome = await this.batcher.submit(request).catch((err: unknown) => {
      throw this.translate(err);
    });
    if ('conflict' in outcome) {
      this.observer.conflicted?.(streamId);
      throw new VersionConflict(streamId, String(options.expectedVersion), outcome.conflict);
    }
    if ('reused' in outcome) throw new IdempotencyKeyReused(options.idempotency?.key ?? '');
    if ('replayed' in outcome) return toAppendResult(outcome.replayed, true);
    const { transactionId, firstVersion, lastPosition } = outcome.appended;
    this.observer.appended?.(streamId, events.length);
    return {
      streamId,
      firstVersion,
      lastVersion: firstVersion + events.length - 1,
      position: formatPosition({ transactionId, position: lastPosition }),
      eventIds: events.map((e) => e.eventId),
      replayed: false,
    };
  }

  private translate(err: unknown): unknown {
    if (err instanceof DatabaseError && err.code === '23505' && err.constraint === 'es_events_event_id_key') {
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
   * `tenantId`: only the events whose metadata names that tenant.
   */
  async readAll(
    options: { after?: string | null; limit?: number; tenantId?: string; listedOnly?: boolean } = {},
  ): Promise<ReadAllPage> {
    const { from, limit } = pageOf(options);
    // With tenantId, only events whose metadata.tenantId is it: filtered in SQL, along the
    // es_events_tenant_commit_order index, so other tenants' events never leave the database.
    // listedOnly: without the unlisted streams, along the partial index that leaves them out
    // (the clause is written as the index's predicate, so the planner can use it).
    const listed = options.listedOnly ? `${LISTED} AND ` : '';
    const suffix = options.listedOnly ? '_listed' : '';
    const { rows } = await this.pool.query<EventRow>(
      options.tenantId === undefined
        ? {
            name: `es_read_all${suffix}`,
            text:
              `SELECT ${EVENT_COLUMNS} FROM es_events WHERE ${listed}${VISIBLE_AFTER} ` +
              'ORDER BY transaction_id, position LIMIT $3',
            values: [from.transactionId, from.position, limit],
          }
        : {
            name: `es_read_all_tenant${suffix}`,
            text: `SELECT ${EVENT_COLUMNS} FROM es_events WHERE metadata->>'tenantId' = $4 AND ${listed}${VISIBLE_AFTER}
                    ORDER BY transaction_id, position LIMIT $3`,
            values: [from.transactionId, from.position, limit, options.tenantId],
          },
    );
    const events = rows.map(toStoredEvent);
    return { events, nextPosition: events.length ? events[events.length - 1].position : (options.after ?? null) };
  }

  /**
   * Where the page readAll would return ends, and how many events it holds, without reading
   * them (null when nothing new is visible). Every event up to `through` is committed, so
   * readers of the range (after, through] all see the same events, whichever connection asks.
   */
  async readAllRange(options: { after?: string | null; limit?: number } = {}): Promise<LogRange | null> {
    return (await this.nextRange(options)).range;
  }

  /**
   * readAllRange, and whether committed events wait after it (after `after` when it finds
   * nothing) behind a transaction still open that is older than theirs (`heldBack`): they become
   * visible when it ends, which may announce nothing (it may append nothing). Without any, every
   * event after the range commits after this read, and its NOTIFY comes after it. Not looked for
   * after a full page (false: its reader reads on anyway). After a page that is not full every
   * event this read sees past the page's end is past the horizon: the probe is the next key of the
   * commit-order index after the page (a scalar subquery in index order: as an EXISTS the planner
   * chose a sequential scan of es_events).
   */
  async nextRange(options: { after?: string | null; limit?: number } = {}): Promise<NextRange> {
    const { from, limit } = pageOf(options);
    const { rows } = await this.pool.query<{ tx: string | null; pos: string | null; n: string | null; held: boolean }>({
      name: 'es_next_range',
      text: `SELECT last.tx::text AS tx, last.pos::text AS pos, last.k::text AS n,
                    CASE WHEN last.k IS NULL OR last.k < $3 THEN (
                      SELECT h.transaction_id FROM es_events h
                       WHERE (h.transaction_id, h.position)
                             > (coalesce(last.tx, $1::xid8), coalesce(last.pos, $2::bigint))
                       ORDER BY h.transaction_id, h.position LIMIT 1) IS NOT NULL ELSE false END AS held
               FROM (SELECT 1) one LEFT JOIN LATERAL (
                 SELECT page.tx, page.pos, page.k FROM (
                   SELECT transaction_id AS tx, position AS pos,
                          row_number() OVER (ORDER BY transaction_id, position) AS k
                     FROM es_events WHERE ${VISIBLE_AFTER} ORDER BY transaction_id, position LIMIT $3) page
                  ORDER BY page.k DESC LIMIT 1) last ON true`,
      values: [from.transactionId, from.position, limit],
    });
    const [row] = rows;
    if (row.tx === null || row.pos === null) return { range: null, heldBack: row.held };
    return {
      range: {
        after: formatPosition(from),
        through: formatPosition({ transactionId: row.tx, position: row.pos }),
        count: Number(row.n),
      },
      heldBack: row.held,
    };
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

  /** The first result stored under an idempotency key, if any, read back from its events. */
  async findIdempotentResult(
    scope: string,
    key: string,
  ): Promise<{ requestHash: string; result: AppendResult } | null> {
    const { rows } = await this.pool.query<{ request_hash: string; result: AppendResultRow }>({
      name: 'es_find_idempotent',
      text: 'SELECT request_hash, result FROM es_idempotent_result($1, $2) WHERE request_hash IS NOT NULL',
      values: [scope, key],
    });
    const row = rows[0];
    if (!row) return null;
    return { requestHash: row.request_hash, result: toAppendResult(row.result, true) };
  }

  /**
   * The chain of a stream, checked against its recorded head (see verifyStreamChain), and
   * whether its versions are in commit order (outOfCommitOrderAt when not).
   */
  async verifyStream(streamId: string): Promise<ChainVerification> {
    const head = await readStreamHead(this.pool, streamId);
    const events = await this.readStream(streamId);
    const outOfOrder = firstOutOfCommitOrder(events);
    const result = verifyStreamChain(events, head);
    return outOfOrder === null ? result : { ...result, outOfCommitOrderAt: outOfOrder };
  }

  /** Stream ids in order, a page at a time: of the events themselves and of the heads. */
  async listStreams(after: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ stream_id: string }>(
      `SELECT stream_id FROM (
         (SELECT DISTINCT stream_id FROM es_events WHERE stream_id > $1 ORDER BY stream_id LIMIT $2)
         UNION
         (SELECT stream_id FROM es_streams WHERE stream_id > $1 ORDER BY stream_id LIMIT $2)) s
       ORDER BY stream_id LIMIT $2`,
      [after ?? '', limit],
    );
    return rows.map((r) => r.stream_id);
  }
}
