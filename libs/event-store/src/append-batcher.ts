import { DatabaseError, Pool } from 'pg';
import {
  AppendOutcome,
  AppendRequest,
  AppendResultRow,
  BatchReply,
  expectationMet,
  splitReply,
} from './append-request';
import { PipelinedConnection } from './pipelined-connection';

export interface GroupCommitOptions {
  /** Batches in flight at once, queued on one pipelined connection: the next fills while earlier ones run. */
  maxInFlight: number;
  /** Appends per batch at most. */
  maxBatch: number;
  /**
   * A queue is split over free slots only into batches of at least this many appends; and while
   * batches of at least this many appends in all are in flight, a queue of fewer waits for them
   * (see flush), for `maxHoldMs` at most.
   */
  minSplit: number;
  /** How long a short queue waits at most for the large batches in flight (see flush). */
  maxHoldMs: number;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxInFlight: 2, maxBatch: 64, minSplit: 8, maxHoldMs: 20 };

/** Tries of one append refused for its stream's order before it is answered as the conflict it is. */
const REORDERED_ATTEMPTS = 3;

const BATCH_SQL = 'SELECT es_append_batch_bodies($1, $2, $3, $4, $5, $6, $7, $8) AS r';
const SINGLE_SQL = 'SELECT es_append_bodies($1, $2, $3, $4, $5, $6, $7) AS r';

/**
 * A conflict at a version the append expected (any, the one it named, or an existing stream) is
 * no conflict of versions: the stream's head was written by a transaction younger than the
 * append's (1764402800000-StreamOrderGuard), and a new transaction appends it.
 */
const reordered = (r: AppendRequest, outcome: AppendOutcome): boolean =>
  'conflict' in outcome && expectationMet(r.expected, outcome.conflict);

interface Pending {
  request: AppendRequest;
  resolve(outcome: AppendOutcome): void;
  reject(err: unknown): void;
}

/**
 * Group commit: while batches are in flight, new appends queue, and the queue goes out as one
 * call of es_append_batch_bodies (one round trip, one transaction, one commit for all of
 * them), on a connection of their own, pipelined (see PipelinedConnection). A lone append on
 * an idle store goes out at once, through es_append_bodies on the pool; batches form only
 * while earlier work is in flight, so there is no timer to wait for.
 */
export class AppendBatcher {
  private readonly queue: Pending[] = [];
  private readonly pipeline: PipelinedConnection;
  private inFlight = 0;
  /** The appends of the batches in flight, until their batch's call returns (not its re-runs). */
  private inFlightAppends = 0;
  private flushQueued = false;
  /** Set while a short queue is held (see flush); when it fires, the hold is over until a batch returns. */
  private holdTimer: NodeJS.Timeout | undefined;
  private holdExpired = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: GroupCommitOptions = DEFAULT_GROUP_COMMIT,
  ) {
    this.pipeline = new PipelinedConnection(pool.options);
  }

  /** Closes the batches' connection (the pool is the caller's). */
  close(): Promise<void> {
    return this.pipeline.end();
  }

  submit(request: AppendRequest): Promise<AppendOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (this.inFlight === 0 && !this.flushQueued) this.flush();
      else if (this.inFlight < this.options.maxInFlight) this.flushSoon();
    });
  }

  /**
   * Flushes after the current I/O callbacks and their promise chains have run (setImmediate
   * is not a timer): the callers that one batch just answered append again in that time, and
   * go out together instead of one by one.
   */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /**
   * Spreads a long queue over the free slots, so that batches commit in parallel; a short one
   * goes as one batch, as each batch has a fixed cost (round trip, statements, commit).
   *
   * While a large batch is in flight (minSplit appends or more), a short queue waits for it and
   * goes with the writers it answers. Sent at once, a straggler (one writer out of step, say its
   * conversation's first message waited for a content key) would take the free slot for one
   * append; answered first, it would take it again every time, and the large batch's writers,
   * finding one slot, would go as one batch instead of two in parallel for as long as the run
   * lasted (the encryption bench lost up to a third of its rate so: 370 lone appends in 1.5 s).
   * A batch that takes longer (a stream lock held elsewhere) holds the queue `maxHoldMs` at most.
   */
  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const { minSplit } = this.options;
      if (this.holding()) return this.holdAtMost(this.options.maxHoldMs);
      const free = this.options.maxInFlight - this.inFlight;
      const parts = Math.max(1, Math.min(free, Math.floor(this.queue.length / minSplit)));
      const size = Math.min(this.options.maxBatch, Math.ceil(this.queue.length / parts));
      this.inFlight++;
      this.inFlightAppends += size;
      void this.run(this.queue.splice(0, size));
    }
  }

  private holding(): boolean {
    const { minSplit } = this.options;
    return !this.holdExpired && this.inFlight > 0 && this.queue.length < minSplit && this.inFlightAppends >= minSplit;
  }

  private holdAtMost(ms: number): void {
    if (this.holdTimer) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      this.holdExpired = true;
      this.flush();
    }, ms);
    this.holdTimer.unref();
  }

  /**
   * A batch's call returned: the appends it counted no longer hold a short queue back. A hold
   * that ran out stays over while large batches are still out (a batch stuck on a lock would
   * otherwise hold every later straggler maxHoldMs again, after each small batch it let by).
   */
  private returned(batch: Pending[], counted: { yes: boolean }): void {
    if (!counted.yes) return;
    counted.yes = false;
    this.inFlightAppends -= batch.length;
    if (this.inFlightAppends >= this.options.minSplit) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.holdExpired = false;
  }

  private async run(batch: Pending[]): Promise<void> {
    const counted = { yes: true };
    let settled: PromiseSettledResult<AppendOutcome>[];
    try {
      // appends refused for their stream's order go again alone while the slot stays taken:
      // a short queue held for this batch goes meanwhile, in the other slot
      settled = await this.execute(
        batch.map((p) => p.request),
        () => (this.returned(batch, counted), this.flushSoon()),
      );
    } catch (err) {
      settled = batch.map(() => ({ status: 'rejected', reason: err }));
    } finally {
      this.inFlight--;
      this.returned(batch, counted);
    }
    if (batch.length > 1) this.flushSoon();
    else this.flush();
    settled.forEach((s, i) => (s.status === 'fulfilled' ? batch[i].resolve(s.value) : batch[i].reject(s.reason)));
  }

  /** `returned`: the batch's call came back (before any re-run alone); not called for a lone append. */
  private async execute(
    requests: AppendRequest[],
    returned: () => void,
  ): Promise<PromiseSettledResult<AppendOutcome>[]> {
    if (requests.length === 1) return [await settle(this.single(requests[0]))];
    try {
      const outcomes = await this.batch(requests);
      returned();
      const settled: PromiseSettledResult<AppendOutcome>[] = [];
      // An append refused for its stream's order goes again alone, in a transaction of its own:
      // younger than the one that wrote the head. In input order (one stream's come in order).
      for (const [i, outcome] of outcomes.entries()) {
        settled.push(
          reordered(requests[i], outcome)
            ? await settle(this.single(requests[i]))
            : { status: 'fulfilled', value: outcome },
        );
      }
      return settled;
    } catch (err) {
      returned();
      // The server rolled the batch back as a whole, for one append's fault (say a duplicate
      // eventId) or none (a deadlock): each append goes again alone and gets its own answer.
      // Any other error leaves the outcome unknown, and a retry could append twice. An error of
      // the server's state (a timeout, a full disk) fails them all at once: alone, each would
      // only meet it again, one after the other, the last one after n times as long.
      if (!(err instanceof DatabaseError) || ofTheServer(err)) {
        return requests.map(() => ({ status: 'rejected', reason: err }));
      }
      const settled: PromiseSettledResult<AppendOutcome>[] = [];
      for (const request of requests) settled.push(await settle(this.single(request)));
      return settled;
    }
  }

  private async batch(requests: AppendRequest[]): Promise<AppendOutcome[]> {
    const { rows } = await this.pipeline.query<{ r: BatchReply }>({
      name: 'es_append_batch_bodies',
      text: BATCH_SQL,
      values: [
        requests.map((r) => r.streamId),
        requests.map((r) => r.expected),
        requests.map((r) => r.eventIds.length),
        requests.flatMap((r) => r.eventIds),
        requests.map((r) => r.bodies).join('\n'),
        requests.map((r) => r.idempotency?.scope ?? null),
        requests.map((r) => r.idempotency?.key ?? null),
        requests.map((r) => r.idempotency?.requestHash ?? null),
      ],
    });
    return splitReply(rows[0].r);
  }

  private async single(r: AppendRequest): Promise<AppendOutcome> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.singleOnce(r);
      // A new transaction is younger than the head's, unless a younger one appended again meanwhile.
      if (!reordered(r, outcome) || attempt >= REORDERED_ATTEMPTS) return outcome;
    }
  }

  private async singleOnce(r: AppendRequest): Promise<AppendOutcome> {
    const idem = r.idempotency;
    try {
      const { rows } = await this.pool.query<{ r: AppendResultRow & { replayed: boolean } }>({
        name: 'es_append_bodies',
        text: SINGLE_SQL,
        values: [
          r.streamId,
          r.expected,
          r.eventIds,
          r.bodies,
          idem?.scope ?? null,
          idem?.key ?? null,
          idem?.requestHash ?? null,
        ],
      });
      const { replayed, ...result } = rows[0].r;
      if (replayed) return { replayed: result };
      return {
        appended: {
          transactionId: result.transactionId,
          firstVersion: result.firstVersion,
          lastPosition: result.lastPosition,
        },
      };
    } catch (err) {
      if (err instanceof DatabaseError && err.code === 'ES001') return { conflict: Number(err.detail) };
      if (err instanceof DatabaseError && err.code === 'ES002') return { reused: true };
      throw err;
    }
  }
}

/**
 * SQLSTATEs of the server's state rather than of any one append, where replaying the appends one
 * by one would meet it again, each after as long: a statement, lock or idle-transaction timeout
 * (57014, 55P03, 25P03) and an exhausted resource (53: disk full, out of memory, too many
 * connections). The batch was rolled back; the callers retry later. (A batch connection the
 * server ended, 57P01, is not one: the appends go again alone on the pool's connections.)
 */
export function ofTheServer(err: DatabaseError): boolean {
  const code = err.code ?? '';
  return code.startsWith('53') || TIMEOUT_SQLSTATES.has(code);
}

/** SQLSTATEs of a statement cut off by a timeout: statement (57014), lock (55P03), idle transaction (25P03). */
export const TIMEOUT_SQLSTATES: ReadonlySet<string> = new Set(['57014', '55P03', '25P03']);

function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}
