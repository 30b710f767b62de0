import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { comparePositions, PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, readCheckpoints } from '@app/projections';
import { ApiError } from '../common/api-error';
import { ChangeNotifier } from '../database/change-notifier';
import { PG_POOL } from '../database/database.providers';
import { ReadDatabase } from '../database/read-database';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export const WAIT_FOR_LIMIT_MS = 5000;

/**
 * `?waitFor=<position>`: answer once every projection (and the runners named in `also`, e.g. the
 * transparency log's sequencer) has processed that position.
 */
@Injectable()
export class ProjectionWaiter {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly notifier: ChangeNotifier,
    private readonly store: PostgresEventStore,
    private readonly reads: ReadDatabase,
  ) {}

  async waitFor(position: string, limitMs = WAIT_FOR_LIMIT_MS, also: readonly string[] = []): Promise<void> {
    const deadline = Date.now() + limitMs;
    for (let first = true; ; first = false) {
      if (await reached(this.pool, position, also)) return;
      if (first) await this.assertWritten(position);
      const left = deadline - Date.now();
      if (left <= 0) throw timedOut('the projections', position, limitMs);
      await this.notifier.next(Math.min(left, 50));
    }
  }

  /**
   * The same wait on the replica's checkpoints (READ_DATABASE_URL), for the reads served there.
   * A standby hears no NOTIFY: its checkpoints are polled, 10 ms at first, doubling to 200 ms.
   * A replica that cannot be reached fails the wait (503 DATABASE_UNAVAILABLE).
   */
  async waitOnReplica(position: string, limitMs = WAIT_FOR_LIMIT_MS, also: readonly string[] = []): Promise<void> {
    const pool = await this.reads.replicaPool();
    if (!pool) return this.waitFor(position, limitMs, also);
    const deadline = Date.now() + limitMs;
    for (let first = true, pause = 10; ; first = false, pause = Math.min(pause * 2, 200)) {
      if (await reached(pool, position, also)) return;
      if (first) await this.assertWritten(position);
      const left = deadline - Date.now();
      if (left <= 0) throw timedOut("the replica's projections", position, limitMs);
      await sleep(Math.min(left, pause));
    }
  }

  /** Has the replica's every projection (and `also`) processed `position`? False when it cannot say. */
  async replicaHasReached(position: string, also: readonly string[] = []): Promise<boolean> {
    try {
      const pool = await this.reads.replicaPool();
      return pool !== null && (await reached(pool, position, also));
    } catch {
      return false;
    }
  }

  /**
   * A position beyond the log's head was never answered by this API: refuse it at once rather
   * than hold the request (and poll the checkpoints) for the whole wait.
   */
  private async assertWritten(position: string): Promise<void> {
    const head = await this.store.headPosition();
    if (head === null || comparePositions(position, head) > 0) {
      throw ApiError.validation(
        'waitFor is beyond the newest position of the log: pass a position returned by this API',
        [{ field: 'waitFor', messages: ['waitFor must not be beyond the head of the log'] }],
      );
    }
  }
}

async function reached(pool: Pool, position: string, also: readonly string[]): Promise<boolean> {
  const checkpoints = new Map((await readCheckpoints(pool)).map((c) => [c.name, c.position]));
  const names = [...ALL_PROJECTIONS.map((p) => p.name), ...also];
  return names.every((name) => comparePositions(checkpoints.get(name) ?? '0-0', position) >= 0);
}

const timedOut = (what: string, position: string, limitMs: number) =>
  new ApiError(503, 'WAIT_FOR_TIMEOUT', `${what} did not reach ${position} within ${limitMs / 1000} s`);
