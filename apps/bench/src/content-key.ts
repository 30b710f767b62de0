import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { ContentKeys, contentSealer, type ContentSealer, createMasterKeyFile, readMasterKeyRing } from '@app/privacy';

/**
 * The master key of the bench's run: CONTENT_KEY_FILE when given, else a new one in a private
 * temporary directory. Set in this process's environment, so that the service, its workers and
 * the CLI it starts (which inherit it) seal and open content with the same key.
 */
export function benchContentKeyFile(): string {
  if (!process.env.CONTENT_KEY_FILE) {
    const file = join(mkdtempSync(join(tmpdir(), 'cs-bench-content-key-')), 'content-key');
    createMasterKeyFile(file);
    process.env.CONTENT_KEY_FILE = file;
  }
  return process.env.CONTENT_KEY_FILE;
}

/** Seals as the service does, under the run's master key. */
export const benchContentSealer = (pool: Pool): ContentSealer =>
  contentSealer(new ContentKeys(pool, readMasterKeyRing(benchContentKeyFile()), { hearsDestructions: () => true }));
