import { CanActivate, ExecutionContext, Inject, Injectable, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { AppConfig } from '@app/platform';
import { ApiError } from '../common/api-error';
import { APP_CONFIG } from '../database/database.providers';

/** Seconds a client should wait after 503 BUSY. */
export const BUSY_RETRY_AFTER_S = 5;

/**
 * The cap on concurrent heavy audit reads (export, timeline, compliance, sample), which run on
 * their own small pool: over it, 503 BUSY at once, so a burst of them neither queues without
 * end nor starves the conversation commands of connections.
 */
@Injectable()
export class AuditCapacity {
  private running = 0;
  private readonly max: number;

  constructor(@Inject(APP_CONFIG) { limits }: AppConfig) {
    this.max = limits.auditMaxConcurrent;
  }

  get inUse(): number {
    return this.running;
  }

  /** Takes a slot until the response is done (finished, or its connection closed), or throws BUSY. */
  enter(res: FastifyReply['raw']): void {
    if (this.running >= this.max) {
      throw ApiError.unavailable(
        'BUSY',
        `${this.max} audit reads of this kind are running; retry later`,
        BUSY_RETRY_AFTER_S,
      );
    }
    this.running++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.running--;
    };
    res.once('finish', release);
    res.once('close', release);
  }
}

@Injectable()
export class AuditCapacityGuard implements CanActivate {
  constructor(private readonly capacity: AuditCapacity) {}

  canActivate(ctx: ExecutionContext): boolean {
    this.capacity.enter(ctx.switchToHttp().getResponse<FastifyReply>().raw);
    return true;
  }
}

/** A heavy audit read: runs within AUDIT_MAX_CONCURRENT, else 503 BUSY with Retry-After. */
export const Capped = () => UseGuards(AuditCapacityGuard);
