import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Pool } from 'pg';
import { type AppConfig, checkRuntimePrivileges, PrivilegeLevel } from '@app/platform';
import { APP_CONFIG, PG_POOL } from './database.providers';

/**
 * The runtime connection's own rights, checked once at start (app.init rejects under
 * STRICT_DB_PRIVILEGES=true with owner rights) and shown by /health.
 */
@Injectable()
export class DatabasePrivileges implements OnModuleInit {
  private readonly logger = new Logger('Database');
  level: PrivilegeLevel | 'unknown' = 'unknown';

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.level = await checkRuntimePrivileges(this.pool, {
      strict: this.config.strictDbPrivileges,
      warn: (message) => this.logger.warn(message),
    });
  }
}
