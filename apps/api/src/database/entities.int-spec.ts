import { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { ALL_PROJECTIONS, READ_MODEL_ENTITIES } from '@app/projections';
import { createTestDatabase, openTestDataSource, TestDatabase } from '@app/testing';
import { ENTITIES } from './database.providers';

interface CatalogColumn {
  table: string;
  column: string;
  /** As PostgreSQL spells it: `integer`, `character(64)`, `text[]`, `timestamp with time zone`. */
  type: string;
  nullable: boolean;
  primary: boolean;
}

/**
 * The entities map the tables the migrations made, column for column: a migration that renames,
 * retypes or adds a column without its entity (or an entity edited alone) fails here, never in
 * a query at run time.
 */
describe('entities', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let catalog: CatalogColumn[];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await openTestDataSource(db.runtimeUrl, ENTITIES);
    catalog = await ds.query(
      `SELECT c.relname AS "table", a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS "type",
              NOT a.attnotnull AS nullable, coalesce(a.attnum = ANY (i.indkey), false) AS "primary"
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE a.attnum > 0 AND NOT a.attisdropped`,
    );
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  /** The column as the entity declares it, in PostgreSQL's spelling. */
  const declared = (c: ColumnMetadata) => {
    const base = ds.driver.normalizeType(c);
    const sized = c.length ? `${base}(${c.length})` : base;
    return {
      column: c.databaseName,
      type: c.isArray ? `${sized}[]` : sized,
      nullable: c.isNullable,
      primary: c.isPrimary,
    };
  };

  it.each(ENTITIES.map((e) => [e.name, e]))(
    '%s maps its table exactly: every column, its type, nullability and key',
    (_, entity) => {
      const metadata = ds.getMetadata(entity);
      const table = catalog.filter((c) => c.table === metadata.tableName).map(({ table: _t, ...c }) => c);
      expect(table.length).toBeGreaterThan(0);
      const byName = (a: { column: string }, b: { column: string }) => a.column.localeCompare(b.column);
      expect(metadata.columns.map(declared).sort(byName)).toEqual(table.sort(byName));
    },
  );

  it('has an entity for every table a projection writes', () => {
    const mapped = READ_MODEL_ENTITIES.map((e) => ds.getMetadata(e).tableName).sort();
    expect([...new Set(ALL_PROJECTIONS.flatMap((p) => p.tables))].sort()).toEqual(mapped);
  });
});
