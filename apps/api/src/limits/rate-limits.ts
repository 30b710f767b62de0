import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '@app/platform';
import { ApiError } from '../common/api-error';
import { sendProblem } from '../common/problem.filter';
import { APP_CONFIG } from '../database/database.providers';
import { addressBucketName } from './client-address';
import { Refused, TokenBuckets } from './token-buckets';

/**
 * The token buckets of the process: one per API key (after authentication) and one per client
 * address (before it, so a flood of bogus keys is refused without a key lookup). A failed
 * authentication costs its address a second token. In-process: each instance counts its own.
 */
@Injectable()
export class RateLimits {
  readonly enabled: boolean;
  private readonly keys: TokenBuckets;
  private readonly addresses: TokenBuckets;

  constructor(@Inject(APP_CONFIG) { limits }: AppConfig) {
    this.enabled = limits.rateLimits;
    this.keys = new TokenBuckets(limits.perKey, limits.keyBurst);
    this.addresses = new TokenBuckets(limits.perAddress, limits.addressBurst);
  }

  /** 429 for a key over its rate. */
  checkKey(keyId: string): void {
    if (!this.enabled) return;
    const refused = this.keys.take(keyId);
    if (refused) throw tooMany('this API key', refused);
  }

  /** Registers the per-address check and the failed-authentication charge on every route but /health. */
  install(fastify: FastifyInstance): void {
    if (!this.enabled) return;
    const logger = new Logger('RateLimits');
    fastify.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.url === '/health') return;
      const refused = this.addresses.take(addressBucketName(request.ip));
      if (!refused) return;
      sendProblem(tooMany('this client address', refused), request, reply, logger);
      return reply;
    });
    fastify.addHook('onResponse', async (request, reply) => {
      if (reply.statusCode === 401) this.addresses.charge(addressBucketName(request.ip), 1);
    });
  }
}

const tooMany = (who: string, refused: Refused) =>
  ApiError.rateLimited(
    `${who} is over its request rate; retry after ${refused.retryAfterSeconds} s`,
    refused.retryAfterSeconds,
  );
