import { EventEmitter } from 'node:events';
import type { ClientConfig } from 'pg';
import type { Repository } from 'typeorm';
import { ApiKeyEntity, hashKey, Role } from '@app/access';
import type { Principal } from './api-keys';
import { KeyCache, KnownKey } from './key-cache';
import { RevocationListener } from './revocation-listener';

export interface ApiKeyResolverOptions {
  /** Entries of each cache (known keys, unknown keys). */
  cacheSize: number;
  /** A known key is re-read from the database this often while revocations are heard (a safety net). */
  knownTtlMs: number;
  /** ... and this often while the LISTEN connection is down, so a revocation still lands within it. */
  offlineTtlMs: number;
  /** How long a key that is not valid is remembered as such. */
  unknownTtlMs: number;
  /** last_used_at is written at most this often per key by one process. */
  touchIntervalMs: number;
  now: () => number;
}

export const DEFAULT_RESOLVER_OPTIONS: ApiKeyResolverOptions = {
  cacheSize: 10_000,
  knownTtlMs: 60_000,
  offlineTtlMs: 1_000,
  unknownTtlMs: 60_000,
  touchIntervalMs: 60_000,
  now: Date.now,
};

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * API key → principal, cached. A revocation reaches every process through NOTIFY and drops the
 * key from its cache at once; an expired key stops working at its expiry, cached or not.
 *
 * Other code can follow a key's end: `onRevoked(keyId => …)` for every revocation, or
 * `watch(principal, reason => …)` for one caller's key (revoked or expired), e.g. to close its
 * Server-Sent Events streams. Both return a function that unsubscribes.
 */
export class ApiKeyResolver {
  private readonly cache: KeyCache;
  private readonly events = new EventEmitter().setMaxListeners(0);
  private readonly options: ApiKeyResolverOptions;
  /** Bumped by every revocation: a lookup that overlapped one is not cached. */
  private epoch = 0;

  constructor(
    private readonly keys: Repository<ApiKeyEntity>,
    private readonly listener: Pick<RevocationListener, 'live' | 'start' | 'stop'> | null,
    options: Partial<ApiKeyResolverOptions> = {},
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.options = { ...DEFAULT_RESOLVER_OPTIONS, ...options };
    this.cache = new KeyCache(this.options.cacheSize);
  }

  /** Listens for revocations on its own connection (see RevocationListener). */
  static listening(
    keys: Repository<ApiKeyEntity>,
    connection: ClientConfig,
    options: Partial<ApiKeyResolverOptions> = {},
    warn?: (m: string) => void,
  ): ApiKeyResolver {
    const handlers = { revoked: (id: string) => resolver.revoked(id), resumed: () => resolver.resumed() };
    const listener = new RevocationListener(connection, handlers, warn);
    const resolver: ApiKeyResolver = new ApiKeyResolver(keys, listener, options, warn);
    return resolver;
  }

  async onModuleInit(): Promise<void> {
    await this.listener?.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener?.stop();
  }

  onRevoked(listener: (keyId: string) => void): () => void {
    this.events.on('revoked', listener);
    return () => void this.events.off('revoked', listener);
  }

  /** Calls `onEnd` once, when this principal's key is revoked or expires; returns a function that stops watching. */
  watch(principal: Principal, onEnd: (reason: 'revoked' | 'expired') => void): () => void {
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      off();
      clearTimeout(timer);
    };
    const end = (reason: 'revoked' | 'expired') => {
      stop();
      onEnd(reason);
    };
    const off = this.onRevoked((keyId) => keyId === principal.keyId && end('revoked'));
    const arm = () => {
      const ms = principal.expiresAt!.getTime() - this.options.now();
      timer = ms > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(() => end('expired'), Math.max(ms, 0));
      timer.unref();
    };
    if (principal.expiresAt) arm();
    return stop;
  }

  /** Drops a revoked key everywhere in this process and tells the subscribers. */
  revoked(keyId: string): void {
    const id = keyId.toLowerCase();
    this.epoch++;
    this.cache.forgetKey(id);
    this.events.emit('revoked', id);
  }

  /** After a gap in listening: nothing cached can be trusted to be unrevoked. */
  resumed(): void {
    this.epoch++;
    this.cache.forgetAllKnown();
  }

  async resolve(key: string): Promise<Principal | null> {
    const hash = hashKey(key);
    const now = this.options.now();
    const hit = this.cache.knownEntry(hash);
    const ttl = this.listener?.live ? this.options.knownTtlMs : this.options.offlineTtlMs;
    if (hit && now - hit.checkedAt < ttl) return this.valid(hash, hit, now);
    if (!hit && this.cache.isUnknown(hash, now)) return null;
    // A revocation heard while the lookup ran may predate what it read: look again.
    for (let attempt = 0; ; attempt++) {
      const epoch = this.epoch;
      const principal = await this.lookup(hash);
      if (epoch !== this.epoch && attempt === 0) continue;
      const at = this.options.now();
      if (!principal) {
        if (epoch === this.epoch) this.cache.rememberUnknown(hash, at + this.options.unknownTtlMs);
        return null;
      }
      const entry =
        epoch === this.epoch
          ? this.cache.rememberKnown(hash, principal, at, hit?.touchedAt)
          : { principal, checkedAt: at, touchedAt: hit?.touchedAt ?? 0 };
      return this.valid(hash, entry, at);
    }
  }

  private valid(hash: string, entry: KnownKey, now: number): Principal | null {
    const { expiresAt } = entry.principal;
    if (expiresAt && expiresAt.getTime() <= now) {
      this.cache.forgetHash(hash);
      return null;
    }
    if (now - entry.touchedAt >= this.options.touchIntervalMs) this.touch(entry, now);
    return entry.principal;
  }

  /** Coarse last use, off the request's path: a failed write only costs a warning. */
  private touch(entry: KnownKey, now: number): void {
    entry.touchedAt = now;
    // last_used_at alone: the row guard refuses an update of anything but it and the revocation.
    this.keys
      .createQueryBuilder()
      .update()
      .set({ lastUsedAt: () => 'now()' })
      .where('id = :id', { id: entry.principal.keyId })
      .andWhere(`(last_used_at IS NULL OR last_used_at < now() - :ms * interval '1 millisecond')`, {
        ms: this.options.touchIntervalMs,
      })
      .updateEntity(false)
      .execute()
      .catch((err: Error) => this.warn(`last_used_at of key ${entry.principal.keyId} not written: ${err.message}`));
  }

  /** The key of this hash, if it is valid now (the database's clock decides expiry). */
  private async lookup(hash: string): Promise<Principal | null> {
    const key = await this.keys
      .createQueryBuilder('k')
      .select(['k.id', 'k.role', 'k.tenantId', 'k.holder', 'k.label', 'k.expiresAt'])
      .where('k.keyHash = :hash', { hash })
      .andWhere('k.revokedAt IS NULL')
      .andWhere('(k.expiresAt IS NULL OR k.expiresAt > now())')
      .getOne();
    if (!key) return null;
    const { id: keyId, role, tenantId, holder, label, expiresAt } = key;
    return { keyId, role: role as Role, tenantId, holder, label, expiresAt };
  }

  /** Cache sizes, for metrics and tests. */
  get cacheSizes(): { known: number; unknown: number } {
    return this.cache.sizes;
  }
}
