import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { comparePositions } from '@app/event-store';
import { ALL_PROJECTIONS, readCheckpoints } from '@app/projections';
import { ApiError } from '../common/api-error';
import { ChangeNotifier } from '../database/change-notifier';
import { PG_POOL } from '../database/database.providers';

export const WAIT_FOR_LIMIT_MS = 5000;

/** `?waitFor=<position>`: answer once every projection has processed that position. */
@Injectable()
export class ProjectionWaiter {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly notifier: ChangeNotifier,
  ) {}

  async waitFor(position: string, limitMs = WAIT_FOR_LIMIT_MS): Promise<void> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      if (await this.reached(position)) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ApiError(503, 'WAIT_FOR_TIMEOUT', `the projections did not reach ${position} within ${limitMs / 1000} s`);
      }
      await this.notifier.next(Math.min(left, 50));
    }
  }

  private async reached(position: string): Promise<boolean> {
    const checkpoints = new Map((await readCheckpoints(this.pool)).map((c) => [c.name, c.position]));
    return ALL_PROJECTIONS.every((p) => comparePositions(checkpoints.get(p.name) ?? '0-0', position) >= 0);
  }
}
