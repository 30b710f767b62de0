import type { DataSource } from 'typeorm';
import { openRuntimeDataSource } from '@app/platform';
import { ApiKeyEntity } from '../../src/auth/api-key.entity';
import { createApiKey, NewApiKey } from '../../src/auth/api-keys';

/** A DataSource of its own on a test database, as the CLI's key commands open one. */
export const keysDataSource = (url: string): Promise<DataSource> =>
  openRuntimeDataSource(url, { dbStatementTimeoutMs: 0, dbIdleInTransactionTimeoutMs: 0, max: 2, connectTimeoutMs: 0, applicationName: 'test-keys' }, [
    ApiKeyEntity,
  ]);

/** Creates a key on a database no app runs on yet. */
export async function createKeyOn(url: string, input: NewApiKey): Promise<{ id: string; key: string }> {
  const db = await keysDataSource(url);
  try {
    return await createApiKey(db, input);
  } finally {
    await db.destroy();
  }
}
