import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Pool } from 'pg';
import { type AppConfig, requireContentKeyFile, runtimeConnection } from '@app/platform';
import { ContentKeyListener, ContentKeys, readMasterKeyRing } from '@app/privacy';
import { APP_CONFIG, DATABASE_URL, PG_POOL } from '../database/database.providers';

/**
 * This process's content keys: the master key ring (CONTENT_KEY_FILE, CONTENT_KEY_PREVIOUS_FILES,
 * read at start), the data-key cache, and the listener that drops a destroyed key from the cache
 * in every process at the erasure's commit.
 */
@Injectable()
export class ContentProtection implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ContentKeys');
  readonly keys: ContentKeys;
  private readonly listener: ContentKeyListener;

  constructor(
    @Inject(PG_POOL) pool: Pool,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(DATABASE_URL) databaseUrl: string,
  ) {
    const ring = readMasterKeyRing(requireContentKeyFile(config.contentKeys), config.contentKeys.previousKeyFiles);
    this.listener = new ContentKeyListener(
      runtimeConnection(databaseUrl, config),
      () => this.keys,
      (m) => this.logger.warn(m),
    );
    this.keys = new ContentKeys(pool, ring, { hearsDestructions: () => this.listener.live });
  }

  async onModuleInit(): Promise<void> {
    await this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener.stop();
  }
}
