import { DatabaseError, Pool } from 'pg';
import { AppendOutcome } from './append-request';

export interface GroupCommitOptions {
  /** Batches in flight at once: the next batch fills while earlier ones commit. */
  maxInFlight: number;
  /** Appends per batch at most. */
  maxBatch: number;
}

export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxInFlight: 2, maxBatch: 64 };

const BATCH_SQL = 'SELECT es_append_batch($1) AS r';

interface Pending {
  request: string;
  resolve(outcome: AppendOutcome): void;
  reject(err: unknown): void;
}

/**
 * Group commit: while batches are in flight, new appends queue, and the queue goes out as one
 * call of es_append_batch (one round trip, one transaction, one commit for all of them). A
 * lone append on an idle store goes out at once; batches form only while earlier work is in
 * flight, so there is no timer to wait for.
 */
export class AppendBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private flushQueued = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: GroupCommitOptions = DEFAULT_GROUP_COMMIT,
  ) {}

  /** `request` as encodeAppend makes it. */
  submit(request: string): Promise<AppendOutcome> {
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

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      this.inFlight++;
      void this.run(this.queue.splice(0, this.options.maxBatch));
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    const settled = await this.execute(batch.map((p) => p.request));
    this.inFlight--;
    if (batch.length > 1) this.flushSoon();
    else this.flush();
    settled.forEach((s, i) => (s.status === 'fulfilled' ? batch[i].resolve(s.value) : batch[i].reject(s.reason)));
  }

  private async execute(requests: string[]): Promise<PromiseSettledResult<AppendOutcome>[]> {
    try {
      const outcomes = await this.call(requests);
      return outcomes.map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      // The server rolled the batch back as a whole, for one append's fault (say a duplicate
      // eventId) or none (a deadlock): each append goes again alone and gets its own answer.
      // Any other error leaves the outcome unknown, and a retry could append twice.
      if (requests.length === 1 || !(err instanceof DatabaseError)) {
        return requests.map(() => ({ status: 'rejected', reason: err }));
      }
      const settled: PromiseSettledResult<AppendOutcome>[] = [];
      for (const request of requests) {
        settled.push(
          await this.call([request]).then(
            ([value]) => ({ status: 'fulfilled', value }) as const,
            (reason: unknown) => ({ status: 'rejected', reason }) as const,
          ),
        );
      }
      return settled;
    }
  }

  private async call(requests: string[]): Promise<AppendOutcome[]> {
    const { rows } = await this.pool.query<{ r: AppendOutcome[] }>({
      name: 'es_append_batch',
      text: BATCH_SQL,
      values: [`[${requests.join(',')}]`],
    });
    return rows[0].r;
  }
}
