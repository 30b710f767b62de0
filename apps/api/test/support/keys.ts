import { openTestDataSource } from '@app/testing';
import { ApiKeyEntity } from '../../src/auth/api-key.entity';
import { createApiKey, NewApiKey } from '../../src/auth/api-keys';

/** Creates a key on a database no app runs on yet, on a DataSource of its own (as the CLI does). */
export async function createKeyOn(url: string, input: NewApiKey): Promise<{ id: string; key: string }> {
  const db = await openTestDataSource(url, [ApiKeyEntity]);
  try {
    return await createApiKey(db, input);
  } finally {
    await db.destroy();
  }
}
