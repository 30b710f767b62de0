import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { createTestDatabase, openTestDataSource, TestDatabase } from '@app/testing';
import { ApiKeyEntity } from './api-key.entity';
import { createApiKey, hashKey, revokeApiKey } from './api-keys';

/**
 * What a key is cannot be rewritten in its row, by the runtime (which may UPDATE api_keys to
 * record last use and revocation) nor by the owner: found by the red team of issue 9, when the
 * runtime could make a writer key an all-tenant admin one, or swap in a hash it knows, and the
 * key's ApiKeyCreated event went on saying otherwise.
 */
describe('API key rows', () => {
  let db: TestDatabase;
  let runtime: Pool;
  /** Keys made and revoked as the runtime, the CLI's way. */
  let keys: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 2 });
    keys = await openTestDataSource(db.runtimeUrl, [ApiKeyEntity]);
  });
  afterAll(async () => {
    await keys.destroy();
    await runtime.end();
    await db.drop();
  });

  const refused = async (pool: Pool, sql: string, params: unknown[]) => {
    const err = await pool.query(sql, params).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe('23514');
    expect(err?.message).toMatch(/only its revocation and last use may change/);
  };

  it.each([
    [
      'role and tenant (a writer becomes an all-tenant admin)',
      `UPDATE api_keys SET role = 'admin', tenant_id = '*' WHERE id = $1`,
    ],
    [
      'the key hash (a key the attacker knows)',
      `UPDATE api_keys SET key_hash = '${hashKey('csk_mine')}' WHERE id = $1`,
    ],
    ['the expiry', `UPDATE api_keys SET expires_at = NULL WHERE id = $1`],
    ['the holder (separation of duties compares holders)', `UPDATE api_keys SET holder = 'someone else' WHERE id = $1`],
    ['the id', `UPDATE api_keys SET id = gen_random_uuid() WHERE id = $1`],
    [
      'who created it',
      `UPDATE api_keys SET created_by = 'nobody', created_at = created_at - interval '1 day' WHERE id = $1`,
    ],
  ])('refuses to rewrite %s, as the runtime and as the owner', async (_, sql) => {
    const expiresAt = new Date(Date.now() + 86_400_000);
    const { id } = await createApiKey(keys, { role: 'writer', tenantId: 'acme', holder: 'alice', expiresAt });
    await refused(runtime, sql, [id]);
    await refused(db.pool, sql, [id]);
    const { rows } = await db.pool.query(
      'SELECT role, tenant_id, holder, expires_at IS NOT NULL AS expires FROM api_keys WHERE id = $1',
      [id],
    );
    expect(rows).toEqual([{ role: 'writer', tenant_id: 'acme', holder: 'alice', expires: true }]);
  });

  it('still records last use and revocation', async () => {
    const { id } = await createApiKey(keys, { role: 'writer', tenantId: 'acme' });
    await runtime.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [id]);
    await revokeApiKey(keys, id, { actor: 'test' });
    const { rows } = await db.pool.query(
      'SELECT last_used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked, revoked_by ' +
        'FROM api_keys WHERE id = $1',
      [id],
    );
    expect(rows).toEqual([{ used: true, revoked: true, revoked_by: 'test' }]);
  });
});
