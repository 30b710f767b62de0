import { existsSync } from 'node:fs';
import { ConfigError, Env } from './env-values';

/** The master key that wraps the conversations' content keys (README: "Data protection"). */
export interface ContentKeysConfig {
  /**
   * CONTENT_KEY_FILE: the current master key (one line, base64 of 32 bytes). Absent: the
   * embedded default keeps one in DATA_DIR; with DATABASE_URL, whatever reads or writes content
   * (the API, the CLI's seed and exports) refuses to start without it (requireContentKeyFile).
   */
  keyFile?: string;
  /** CONTENT_KEY_PREVIOUS_FILES (comma separated): older master keys, to unwrap keys not yet re-wrapped. */
  previousKeyFiles: string[];
}

const CREATE_HINT = 'npm run cli -- content-key:create --out <file>';

export function loadContentKeys(env: Env): ContentKeysConfig {
  const keyFile = env.CONTENT_KEY_FILE?.trim() || undefined;
  if (keyFile !== undefined && !existsSync(keyFile)) {
    throw new ConfigError('CONTENT_KEY_FILE', `names a file that does not exist: ${keyFile} (${CREATE_HINT})`);
  }
  const previousKeyFiles = (env.CONTENT_KEY_PREVIOUS_FILES ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  for (const file of previousKeyFiles) {
    if (!existsSync(file)) {
      throw new ConfigError('CONTENT_KEY_PREVIOUS_FILES', `names a file that does not exist: ${file}`);
    }
  }
  return { keyFile, previousKeyFiles };
}

/** The master key file, for a process that reads or writes content; absent, the start stops naming the variable. */
export function requireContentKeyFile(config: ContentKeysConfig): string {
  if (config.keyFile) return config.keyFile;
  throw new ConfigError(
    'CONTENT_KEY_FILE',
    `is required with DATABASE_URL: the master key that wraps every conversation's content key, kept ` +
      `outside the database (${CREATE_HINT})`,
  );
}
