import type { DataSource, EntitySchema } from 'typeorm';
import { openRuntimeDataSource } from '@app/platform';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Entity = Function | EntitySchema;

/**
 * A small DataSource of a test's own on a test database (the owner's URL or the runtime's),
 * the way the CLI opens one: two connections, no timeouts. The test destroys it.
 */
export function openTestDataSource(
  url: string,
  entities: readonly Entity[],
  applicationName = 'test',
): Promise<DataSource> {
  const settings = {
    dbStatementTimeoutMs: 0,
    dbIdleInTransactionTimeoutMs: 0,
    max: 2,
    connectTimeoutMs: 0,
    applicationName,
  };
  return openRuntimeDataSource(url, settings, entities);
}
