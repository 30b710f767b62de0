import { Pool } from 'pg';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { APP_ROLE, FUNCTION_PRIVILEGES, TABLE_PRIVILEGES } from '../../../../migrations/privileges';
import { runMigrations } from './data-source-options';
import { reconcilePrivileges } from './reconcile-privileges';

const TABLE_RIGHTS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];

/**
 * Every difference between migrations/privileges.ts and what conversations_app can do in the
 * catalog (PUBLIC's rights included, since every role holds them): objects without an entry,
 * entries without an object, a right held but not listed or listed but not held.
 */
async function drift(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ kind: string; name: string; rights: string[] }>(
    `SELECT 'table' AS kind, c.relname AS name,
            ARRAY(SELECT r FROM unnest($2::text[]) r WHERE has_table_privilege($1, c.oid, r) ORDER BY r) AS rights
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     UNION ALL
     SELECT 'sequence', c.relname,
            ARRAY(SELECT r FROM unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) r ` +
      `WHERE has_sequence_privilege($1, c.oid, r) ORDER BY r)
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'
     UNION ALL
     SELECT 'function', p.proname, ARRAY(SELECT 'EXECUTE' WHERE has_function_privilege($1, p.oid, 'EXECUTE'))
       FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace`,
    [APP_ROLE, TABLE_RIGHTS],
  );
  const lists: Record<string, Readonly<Record<string, readonly string[]>>> = {
    table: TABLE_PRIVILEGES,
    function: FUNCTION_PRIVILEGES,
    sequence: {},
  };
  const out: string[] = [];
  for (const { kind, name, rights } of rows) {
    const listed = lists[kind][name];
    if (kind !== 'sequence' && !listed) out.push(`${kind} ${name} has no entry in migrations/privileges.ts`);
    const wanted = [...(listed ?? [])].sort().join(', ');
    if (rights.join(', ') !== wanted) out.push(`${kind} ${name}: holds [${rights.join(', ')}], listed [${wanted}]`);
  }
  for (const kind of ['table', 'function']) {
    for (const name of Object.keys(lists[kind])) {
      if (!rows.some((r) => r.kind === kind && r.name === name))
        out.push(`${kind} ${name} is listed but does not exist`);
    }
  }
  return out;
}

describe('migrations/privileges.ts against the catalog', () => {
  let db: TestDatabase;
  const reconcile = () => reconcilePrivileges(async (sql, params) => (await db.pool.query(sql, params)).rows);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it(
    'gives conversations_app exactly the listed rights on every table, ' + 'sequence and function of schema public',
    async () => {
      expect(await drift(db.pool)).toEqual([]);
    },
  );

  it('gives conversations_app no CREATE in schema public, and PUBLIC no right on any object there', async () => {
    const { rows } = await db.pool.query(
      `SELECT has_schema_privilege($1, 'public', 'CREATE') AS create_app,
              EXISTS (SELECT 1 FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
                       WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = 0) AS public_tables,
              EXISTS (SELECT 1 FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                       WHERE p.pronamespace = 'public'::regnamespace AND a.grantee = 0) AS public_functions`,
      [APP_ROLE],
    );
    expect(rows[0]).toEqual({ create_app: false, public_tables: false, public_functions: false });
  });

  it('runs the append functions as the owner of es_events, with search_path pinned and pg_temp last', async () => {
    const { rows } = await db.pool.query(
      `SELECT p.proname, p.prosecdef, p.proowner = c.relowner AS same_owner,
              (SELECT x FROM unnest(p.proconfig) x WHERE x LIKE 'search_path=%') AS path
         FROM pg_proc p, pg_class c
        WHERE c.oid = 'es_events'::regclass AND p.pronamespace = 'public'::regnamespace
          AND p.proname IN ('es_append_bodies', 'es_append_batch_bodies', 'es_idempotent_result')
        ORDER BY p.proname`,
    );
    expect(rows).toEqual(
      ['es_append_batch_bodies', 'es_append_bodies', 'es_idempotent_result'].map((proname) => ({
        proname,
        prosecdef: true,
        same_owner: true,
        path: 'search_path=pg_catalog, public, pg_temp',
      })),
    );
  });

  it('changes nothing when run again, and takes back a right granted beside the list', async () => {
    expect(await reconcile()).toEqual([]);
    await db.pool.query(`GRANT UPDATE, DELETE ON es_events TO ${APP_ROLE}`);
    await db.pool.query(`GRANT EXECUTE ON FUNCTION es_events_stamp() TO PUBLIC`);
    expect(await drift(db.pool)).toEqual([
      'table es_events: holds [DELETE, SELECT, UPDATE], listed [SELECT]',
      'function es_events_stamp: holds [EXECUTE], listed []',
    ]);
    expect((await reconcile()).sort()).toEqual(['es_events_stamp()', 'public.es_events']);
    expect(await drift(db.pool)).toEqual([]);
  });

  it(
    'changes nothing when the runtime login runs the migrations ' +
      'of a migrated database (MIGRATION_DATABASE_URL unset)',
    async () => {
      expect(await runMigrations(db.runtimeUrl)).toEqual([]);
      expect(await drift(db.pool)).toEqual([]);
    },
  );

  it('fails for a table added without an entry', async () => {
    await db.pool.query('CREATE TABLE rm_added_later (id int PRIMARY KEY)');
    try {
      expect(await drift(db.pool)).toEqual(['table rm_added_later has no entry in migrations/privileges.ts']);
    } finally {
      await db.pool.query('DROP TABLE rm_added_later');
    }
  });

  it('refuses a list that names what the schema does not have', async () => {
    await db.pool.query('ALTER TABLE rm_reviews RENAME TO rm_reviews_renamed');
    try {
      await expect(reconcile()).rejects.toThrow('lists what schema public does not have: rm_reviews');
    } finally {
      await db.pool.query('ALTER TABLE rm_reviews_renamed RENAME TO rm_reviews');
    }
  });
});
