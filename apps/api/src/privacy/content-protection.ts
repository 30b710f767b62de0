import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, type Provider } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { type AppConfig, requireContentKeyFile, runtimeConnection } from '@app/platform';
import {
  ContentKeyListener,
  ContentKeys,
  contentSealer,
  type ContentSealer,
  LocalMasterKey,
  masterKeyRing,
  type MasterKeyRing,
  readableEvents,
  type ReadableEvent,
  assertMasterKeysHeld,
  readMasterKeyRing,
  type SealableEvent,
} from '@app/privacy';
import { APP_CONFIG, DATABASE_URL, PG_POOL } from '../database/database.providers';

/** The master key ring of this process (CONTENT_KEY_FILE, CONTENT_KEY_PREVIOUS_FILES, read at start). */
export const MASTER_KEY_RING = Symbol('MASTER_KEY_RING');

/**
 * The ring, read from the key files; an app built only to write its OpenAPI document (never
 * initialised, no database) needs no key file: a throwaway key stands in, never used.
 */
export const masterKeyRingProvider = (documentOnly: boolean): Provider => ({
  provide: MASTER_KEY_RING,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig): MasterKeyRing =>
    documentOnly
      ? masterKeyRing(new LocalMasterKey(randomBytes(32)))
      : readMasterKeyRing(requireContentKeyFile(config.contentKeys), config.contentKeys.previousKeyFiles),
});

/**
 * This process's content keys: the master key ring, the data-key cache, and the listener that
 * drops a destroyed key from the cache in every process at the erasure's commit. Writers seal
 * through `sealer`; every read of events opens them through `read`.
 */
@Injectable()
export class ContentProtection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ContentKeys');
  readonly keys: ContentKeys;
  readonly sealer: ContentSealer;
  private readonly listener: ContentKeyListener;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(DATABASE_URL) databaseUrl: string,
    @Inject(MASTER_KEY_RING) private readonly ring: MasterKeyRing,
  ) {
    this.listener = new ContentKeyListener(
      runtimeConnection(databaseUrl, config),
      () => this.keys,
      (m) => this.logger.warn(m),
    );
    this.keys = new ContentKeys(pool, ring, { hearsDestructions: () => this.listener.live });
    this.sealer = contentSealer(this.keys);
  }

  /** What the exports open events with: the keys, and a warning logged for a field that does not open. */
  get opening(): { keys: ContentKeys; warn: (m: string) => void } {
    return { keys: this.keys, warn: (m) => this.logger.warn(m) };
  }

  /** Stored events as answered: sealed fields opened (or null, marked erased or unreadable), storedData beside. */
  read<E extends SealableEvent>(events: readonly E[]): Promise<ReadableEvent<E>[]> {
    return readableEvents(this.keys, events, { warn: (m) => this.logger.warn(m) });
  }

  /**
   * A master key rotated without CONTENT_KEY_PREVIOUS_FILES would fail every read and append of
   * the conversations whose keys it wrapped: the start stops instead, naming the variable.
   */
  async onModuleInit(): Promise<void> {
    await assertMasterKeysHeld(this.pool, this.ring);
    await this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener.stop();
  }
}
