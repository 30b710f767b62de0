import type { Provider } from '@nestjs/common';
import { Pool } from 'pg';
import type { AppConfig } from '@app/platform';
import { APP_CONFIG, DATABASE_URL, PG_POOL } from '../database/database.providers';
import { ContentProtection } from '../privacy/content-protection';

/**
 * The content keys the subject export opens content with: this process's ContentProtection, or
 * null where no master key is configured (a document-only build; the export then answers 503).
 */
export const SUBJECT_CONTENT = Symbol('SUBJECT_CONTENT');

export const subjectContentProvider: Provider = {
  provide: SUBJECT_CONTENT,
  inject: [PG_POOL, APP_CONFIG, DATABASE_URL],
  useFactory: (pool: Pool, config: AppConfig, databaseUrl: string) =>
    config.contentKeys.keyFile ? new ContentProtection(pool, config, databaseUrl) : null,
};
