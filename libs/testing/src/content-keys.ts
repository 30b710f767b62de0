import type { Pool } from 'pg';
import { loadContentKeys, requireContentKeyFile } from '@app/platform';
import { ContentKeys, contentSealer, type ContentSealer, readMasterKeyRing } from '@app/privacy';

/** The master key file of the test run (the global setup makes it and sets CONTENT_KEY_FILE). */
export function testContentKeyFile(): string {
  return requireContentKeyFile(loadContentKeys(process.env));
}

/** A process's content keys on `pool`, under the test run's master key. */
export function testContentKeys(pool: Pool): ContentKeys {
  return new ContentKeys(pool, readMasterKeyRing(testContentKeyFile()));
}

/** Seals as the API does, with the test run's master key. */
export function testContentSealer(pool: Pool): ContentSealer {
  return contentSealer(testContentKeys(pool));
}
