import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@app/platform';

/**
 * Undoes the migrations of a test database from the newest back to `name`, that one included,
 * each in its own transaction: a migration's test goes down through its own `down` whatever has
 * been added after it.
 */
export async function undoMigrationsThrough(url: string, name: string): Promise<void> {
  const ds = new DataSource(dataSourceOptions(url));
  await ds.initialize();
  try {
    for (;;) {
      const [last] = await ds.query<{ name: string }[]>('SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1');
      if (!last) throw new Error(`${name} was never run`);
      await ds.undoLastMigration({ transaction: 'each' });
      if (last.name === name) return;
    }
  } finally {
    await ds.destroy();
  }
}
