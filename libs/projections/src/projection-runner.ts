import { Pool, PoolClient } from 'pg';
import { MAX_READ_PAGE, PostgresEventStore } from '@app/event-store';
import type { ChangeSignal } from '@app/platform';
import { lockCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoints';
import { Projection } from './projection';

export interface RunnerOptions {
  batchSize?: number;
  /**
   * Committed appends as they are announced (LISTEN/NOTIFY): the runner takes a mark before each
   * read and, when the read finds nothing, waits for an announcement after that mark or the poll
   * interval. Without it the runner polls.
   */
  changes?: ChangeSignal;
  pollIntervalMs?: number;
  /**
   * The least time from the start of one batch to the start of the next while batches are not
   * full (default 0: the next batch at once). Under a steady stream of commits a runner without
   * it takes a batch per commit or two, and each batch has a fixed cost (its transaction, the
   * checkpoint, the statements); with it, one batch per interval holds the commits meanwhile.
   */
  batchIntervalMs?: number;
  /** How often a standby runner tries to take the lease. */
  leaseRetryMs?: number;
  log?: (message: string) => void;
}

/** How often a standby runner tries to take the lease, unless `leaseRetryMs` says otherwise. */
export const DEFAULT_LEASE_RETRY_MS = 2000;

/** A stable advisory-lock key per projection name. */
export function leaseKey(name: string): number {
  let h = 0;
  for (const ch of `projection:${name}`) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

/**
 * Keeps one projection up to date. Only the holder of the projection's lease (a session
 * advisory lock on a dedicated connection) processes batches, on that same connection: if the
 * process dies, PostgreSQL ends the session, rolls back its batch and frees the lease for a
 * standby. Each batch moves the checkpoint in the transaction that writes the read model, after
 * re-reading it under a row lock, so no batch is applied twice or skipped.
 */
export class ProjectionRunner {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private conn: PoolClient | null = null;
  /**
   * The checkpoint as this runner last committed or read it, so the batch after a batch is found
   * without reading it again; null: read it. A rebuild moving it forward meanwhile is seen by
   * the lock each batch takes in its transaction (the batch is dropped, the checkpoint read
   * again); one moved back (a migration's down, an operator's reset) is seen after the runner's
   * next wait that no announcement ended (see idle), or by the lock of the next batch.
   */
  private committed: string | null = null;
  /** The loop's waits in progress, ended at stop. */
  private readonly waits = new Set<() => void>();
  /** The last read saw committed events after what it found waiting behind an older open transaction. */
  private heldBack = false;
  active = false;

  /** Events per batch at most: the option, within what one read of the log returns. */
  private get batchSize(): number {
    return Math.min(this.options.batchSize ?? 1000, MAX_READ_PAGE);
  }

  constructor(
    private readonly pool: Pool,
    private readonly store: PostgresEventStore,
    readonly projection: Projection,
    private readonly options: RunnerOptions = {},
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const end of [...this.waits]) end();
    await this.loop;
  }

  private async run(): Promise<void> {
    const log = this.options.log ?? (() => undefined);
    let quickRetries = 0;
    while (!this.stopped) {
      try {
        if (!this.conn) await this.takeLease();
        if (!this.conn) {
          await this.sleep(this.options.leaseRetryMs ?? DEFAULT_LEASE_RETRY_MS);
          continue;
        }
        const started = Date.now();
        // Before the read: an append announced while it runs or after wakes the wait below at once.
        const mark = this.options.changes?.mark() ?? 0;
        const processed = await this.processBatch(this.conn);
        if (processed > 0 || processed === -1) {
          quickRetries = 0;
          if (processed > 0 && processed < this.batchSize) {
            if (this.caughtUp(mark)) await this.idle(mark);
            else await this.sleep((this.options.batchIntervalMs ?? 0) - (Date.now() - started));
          }
        } else if (this.heldBack && quickRetries < 8) {
          // Committed events wait behind an older transaction still open (another runner's batch,
          // a late append), which may announce nothing when it ends: look again soon, a few times.
          quickRetries++;
          await this.sleep(25);
        } else {
          if (!this.heldBack) quickRetries = 0;
          await this.idle(mark);
        }
      } catch (err) {
        log(`projection ${this.projection.name}: ${(err as Error).message}; retrying`);
        this.dropLease(err as Error);
        await this.sleep(1000);
      }
    }
    this.dropLease();
  }

  private async takeLease(): Promise<void> {
    const conn = await this.pool.connect();
    let rows: { ok: boolean }[];
    try {
      ({ rows } = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        leaseKey(this.projection.name),
      ]));
    } catch (err) {
      conn.release(err as Error);
      throw err;
    }
    if (rows[0].ok) {
      // A checked-out client has no 'error' listener: a session killed between queries would
      // be an uncaught error. The lease is gone; the next query fails and drops the client.
      conn.on('error', this.leaseLost);
      this.conn = conn;
      this.active = true;
      this.options.log?.(`projection ${this.projection.name}: lease taken`);
    } else {
      conn.release();
    }
  }

  private readonly leaseLost = (err: Error): void => {
    this.active = false;
    this.options.log?.(`projection ${this.projection.name}: lease lost (${err.message})`);
  };

  private dropLease(err?: Error): void {
    this.committed = null;
    if (!this.conn) return;
    this.conn.removeListener('error', this.leaseLost);
    // Destroying the connection ends the session: the lease cannot outlive a broken batch.
    this.conn.release(err ?? true);
    this.conn = null;
    this.active = false;
  }

  /**
   * One batch in one transaction; returns how many events it applied. The batch is found and
   * prepared before the transaction starts, so an idle poll holds no transaction id: an open
   * writer here would hold back every commit-order reader of the database until it ends.
   */
  async processBatch(conn: PoolClient): Promise<number> {
    const position = this.committed ?? (await readCheckpoint(conn, this.projection.name));
    this.committed = null;
    const next = await this.store.nextRange({ after: position, limit: this.batchSize });
    this.heldBack = next.heldBack;
    const batch = next.range;
    if (!batch) {
      this.committed = position;
      return 0;
    }
    const prepared = await this.projection.prepare?.(conn, batch);
    await conn.query('BEGIN');
    try {
      if ((await lockCheckpoint(conn, this.projection.name)) !== position) {
        // Moved meanwhile (a rebuild): read again from where it is now.
        await conn.query('ROLLBACK');
        return -1;
      }
      await this.projection.apply(conn, batch, prepared);
      await saveCheckpoint(conn, this.projection.name, batch.through, batch.count);
      await conn.query('COMMIT');
      this.committed = batch.through;
      return batch.count;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * After a batch that was not full: whether it took every event committed before its read
   * (nothing waited behind an older open transaction) and nothing has been announced since the
   * mark taken before it. Then every later event commits after that read and is announced after
   * the mark: the runner waits for it without reading again to find nothing. Never without
   * announcements, nor with a batch interval (batches then wait for each other on purpose).
   */
  private caughtUp(mark: number): boolean {
    const { changes, batchIntervalMs } = this.options;
    return changes !== undefined && !batchIntervalMs && !this.heldBack && changes.mark() === mark;
  }

  /**
   * Waits for an append announced after `mark`, or the poll interval. A wait that ends without
   * one forgets the checkpoint it remembered, so one moved back meanwhile (a migration's down,
   * an operator's reset) is read again; after an announcement the batch it brings finds a moved
   * checkpoint by the lock it takes.
   */
  private async idle(mark: number): Promise<void> {
    const { changes, pollIntervalMs = 1000 } = this.options;
    if (changes) await this.untilStopped(changes.next(pollIntervalMs, mark));
    else await this.sleep(pollIntervalMs);
    if (!changes || changes.mark() === mark) this.committed = null;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return this.untilStopped(new Promise<void>((r) => setTimeout(r, ms).unref?.()));
  }

  /** Resolves when `wait` does or at stop, whichever comes first. */
  private untilStopped(wait: Promise<void>): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((done) => {
      const end = () => {
        this.waits.delete(end);
        done();
      };
      this.waits.add(end);
      wait.then(end, end);
    });
  }
}
