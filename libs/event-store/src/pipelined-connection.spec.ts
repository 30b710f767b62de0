import { Pool } from 'pg';
import { batchClientConfig } from './pipelined-connection';

describe(batchClientConfig.name, () => {
  it('keeps the pool settings, the password included (pg-pool hides it from spreading)', async () => {
    const pool = new Pool({
      host: 'db.example',
      port: 6543,
      user: 'app',
      password: 'secret',
      database: 'cs',
      application_name: 'api',
    });
    expect({ ...pool.options }.password).toBeUndefined();
    expect(batchClientConfig(pool.options)).toMatchObject({
      host: 'db.example',
      port: 6543,
      user: 'app',
      password: 'secret',
      database: 'cs',
      application_name: 'api (batches)',
      pipeline: true,
    });
    await pool.end();
  });

  it('names the connection after the store when the pool has no name', () => {
    expect(batchClientConfig({ connectionString: 'postgres://x@h/db' })).toMatchObject({
      connectionString: 'postgres://x@h/db',
      application_name: 'event-store (batches)',
    });
  });
});
