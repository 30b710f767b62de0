import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import type { AppConfig } from '@app/platform';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import type { Principal } from '../auth/api-keys';
import { ApiError } from '../common/api-error';
import { APP_CONFIG } from '../database/database.providers';

/** Why a stream ended: the client left, the key was revoked or expired, or it reached its lifetime. */
export type SseCloseReason = 'client' | 'revoked' | 'expired' | 'lifetime' | 'shutdown';

/** Seconds a key over its stream count should wait (a stream of its own must end first). */
export const SSE_RETRY_AFTER_S = 5;

export interface SseConnection {
  /** Aborted when the stream must end. */
  readonly signal: AbortSignal;
  readonly reason: SseCloseReason | undefined;
  /** Ends the stream and frees its slot (idempotent). */
  close(reason: SseCloseReason): void;
}

/**
 * The open event streams of this process, by API key: at most SSE_MAX_PER_KEY each (over it 429
 * RATE_LIMITED: the caller's own use, not the server's load), each closed at its key's expiry or
 * after SSE_MAX_LIFETIME_MS (the client resumes with Last-Event-ID and is authenticated again),
 * and all of a key's closed by `closeKey` (key revocation).
 */
@Injectable()
export class SseConnections implements OnApplicationShutdown {
  private readonly byKey = new Map<string, Set<SseConnection>>();
  private readonly maxPerKey: number;
  private readonly maxLifetimeMs: number;
  private readonly unsubscribe: () => void;

  /** With the key resolver, a key revoked in any process (its NOTIFY) closes its streams here. */
  constructor(@Inject(APP_CONFIG) { limits }: AppConfig, @Optional() keys?: ApiKeyResolver) {
    this.maxPerKey = limits.sseMaxPerKey;
    this.maxLifetimeMs = limits.sseMaxLifetimeMs;
    this.unsubscribe = keys ? keys.onRevoked((keyId) => this.closeKey(keyId, 'revoked')) : () => undefined;
  }

  /** Registers a stream of the principal's key, or throws 429 when the key holds its maximum. */
  open(principal: Principal, now = Date.now()): SseConnection {
    const open = this.byKey.get(principal.keyId) ?? new Set<SseConnection>();
    if (open.size >= this.maxPerKey) {
      throw ApiError.rateLimited(
        `this API key already holds ${this.maxPerKey} event streams; close one first`,
        SSE_RETRY_AFTER_S,
      );
    }
    const expiresAt = principal.expiresAt?.getTime() ?? Infinity;
    const endsAt = Math.min(now + this.maxLifetimeMs, expiresAt);
    const controller = new AbortController();
    let reason: SseCloseReason | undefined;
    const connection: SseConnection = {
      signal: controller.signal,
      get reason() {
        return reason;
      },
      close: (why) => {
        if (reason) return;
        reason = why;
        clearTimeout(timer);
        open.delete(connection);
        if (open.size === 0 && this.byKey.get(principal.keyId) === open) this.byKey.delete(principal.keyId);
        controller.abort();
      },
    };
    const timer = setTimeout(
      () => connection.close(endsAt === expiresAt ? 'expired' : 'lifetime'),
      Math.max(0, endsAt - now),
    );
    timer.unref();
    open.add(connection);
    this.byKey.set(principal.keyId, open);
    return connection;
  }

  /** Closes every open stream of a key (revoked); returns how many there were. */
  closeKey(keyId: string, reason: SseCloseReason = 'revoked'): number {
    const open = [...(this.byKey.get(keyId) ?? [])];
    for (const connection of open) connection.close(reason);
    return open.length;
  }

  /** Open streams of a key. */
  countOf(keyId: string): number {
    return this.byKey.get(keyId)?.size ?? 0;
  }

  onApplicationShutdown(): void {
    this.unsubscribe();
    for (const keyId of [...this.byKey.keys()]) this.closeKey(keyId, 'shutdown');
  }
}
