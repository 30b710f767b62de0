import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { comparePositions, PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, readCheckpoints } from '@app/projections';
import { ApiError } from '../common/api-error';
import { ChangeNotifier } from '../database/change-notifier';
import { PG_POOL } from '../database/database.providers';

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
  ) {}

  async waitFor(position: string, limitMs = WAIT_FOR_LIMIT_MS, also: readonly string[] = []): Promise<void> {
    const deadline = Date.now() + limitMs;
    for (let first = true; ; first = false) {
      if (await this.reached(position, also)) return;
      if (first) await this.assertWritten(position);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ApiError(
          503,
          'WAIT_FOR_TIMEOUT',
          `the projections did not reach ${position} within ${limitMs / 1000} s`,
        );
      }
      await this.notifier.next(Math.min(left, 50));
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

  private async reached(position: string, also: readonly string[]): Promise<boolean> {
    const checkpoints = new Map((await readCheckpoints(this.pool)).map((c) => [c.name, c.position]));
    const names = [...ALL_PROJECTIONS.map((p) => p.name), ...also];
    return names.every((name) => comparePositions(checkpoints.get(name) ?? '0-0', position) >= 0);
  }
}
