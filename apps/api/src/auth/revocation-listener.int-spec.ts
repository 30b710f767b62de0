import type { DataSource } from 'typeorm';
import { createTestDatabase, openTestDataSource, TestDatabase } from '@app/testing';
import { ApiKeyEntity, createApiKey, revokeApiKey } from '@app/access';
import { RevocationListener } from './revocation-listener';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(RevocationListener.name, () => {
  let db: TestDatabase;
  let listener: RevocationListener;
  let keys: DataSource;
  const revoked: string[] = [];
  let resumed = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    keys = await openTestDataSource(db.url, [ApiKeyEntity]);
    listener = new RevocationListener(
      { connectionString: db.runtimeUrl },
      { revoked: (id) => revoked.push(id), resumed: () => resumed++ },
    );
    await listener.start();
  });
  afterAll(async () => {
    await listener.stop();
    await keys.destroy();
    await db.drop();
  });

  it('loses no revocation to a dropped connection: one made while down is announced when it is back', async () => {
    expect(listener.live).toBe(true);
    const { id } = await createApiKey(keys, { role: 'writer', tenantId: 'acme' });
    await db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'conversation-service-keys'`,
    );
    // It reconnects after a second: this revocation's NOTIFY reaches no listener.
    await revokeApiKey(keys, id, { actor: 'test' });
    for (const until = Date.now() + 10_000; Date.now() < until && !(listener.live && revoked.includes(id));)
      await sleep(20);
    expect([listener.live, resumed, revoked]).toEqual([true, 1, [id]]);
  });
});
