import type { Pool } from 'pg';
import { type AppConfig, requireContentKeyFile } from '@app/platform';
import { ContentKeys, ensureDefaultMasterKeyFile, readMasterKeyRing } from '@app/privacy';

/**
 * The master key file the CLI reads and writes content with: CONTENT_KEY_FILE, else the embedded
 * default's (DATA_DIR/content-key, made once as the service makes it); with DATABASE_URL and no
 * CONTENT_KEY_FILE the command stops, naming the variable.
 */
export function contentKeyFileOf(config: AppConfig, embedded: boolean): string {
  if (!config.contentKeys.keyFile && embedded) return ensureDefaultMasterKeyFile(config.dataDir);
  return requireContentKeyFile(config.contentKeys);
}

/** The CLI's content keys (no listener: a command is short, and nothing it caches outlives it). */
export function cliContentKeys(pool: Pool, config: AppConfig, embedded: boolean): ContentKeys {
  return new ContentKeys(
    pool,
    readMasterKeyRing(contentKeyFileOf(config, embedded), config.contentKeys.previousKeyFiles),
  );
}
