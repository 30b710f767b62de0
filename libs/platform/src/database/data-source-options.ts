import { DataSource, DataSourceOptions } from 'typeorm';
import { migrations } from '../../../../migrations';
import { reconcilePrivileges } from './reconcile-privileges';

/** The one DataSource configuration, shared by the app, the CLI and the tests. */
export function dataSourceOptions(url: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    ...extra,
  } as DataSourceOptions;
}

/**
 * Applies pending migrations under an advisory lock, so that several processes starting at
 * once apply each migration exactly once, then grants the runtime role exactly the rights of
 * migrations/privileges.ts (every run: a table added later needs only its entry there).
 * `url` is the owner's (MIGRATION_DATABASE_URL). Returns the names applied.
 */
export async function runMigrations(url: string): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(url));
  await ds.initialize();
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock(7437001)');
    const applied = await ds
      .runMigrations({ transaction: 'each' })
      .catch((err: Error & { driverError?: { code?: string } }) => {
        if (err.driverError?.code !== '42501') throw err;
        throw new Error(
          `migrations need the owner's rights (${err.message}): set MIGRATION_DATABASE_URL to the owner's connection`,
        );
      });
    await runner.startTransaction();
    try {
      await reconcilePrivileges((sql, params) => runner.query(sql, params));
      await runner.commitTransaction();
    } catch (err) {
      await runner.rollbackTransaction();
      throw err;
    }
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock(7437001)').catch(() => undefined);
    await runner.release();
    await ds.destroy();
  }
}
