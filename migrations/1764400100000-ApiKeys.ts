import { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys: only a SHA-256 of each key is kept, with its role and tenant scope. */
export class ApiKeys1764400100000 implements MigrationInterface {
  name = 'ApiKeys1764400100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id          uuid PRIMARY KEY,
        key_hash    char(64) NOT NULL UNIQUE,
        role        text NOT NULL CHECK (role IN ('writer', 'operator', 'auditor', 'admin')),
        tenant_id   text NOT NULL,
        label       text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
  }
}
