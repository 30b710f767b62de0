import { openTestDataSource } from '@app/testing';
import { ApiKeyEntity, createApiKey, NewApiKey } from '@app/access';

/** Creates a key on a database no app runs on yet, on a DataSource of its own (as the CLI does). */
export async function createKeyOn(url: string, input: NewApiKey): Promise<{ id: string; key: string }> {
  const db = await openTestDataSource(url, [ApiKeyEntity]);
  try {
    return await createApiKey(db, input);
  } finally {
    await db.destroy();
  }
}
