import { APP_ROLE, FUNCTION_PRIVILEGES, TABLE_PRIVILEGES } from '../../../../migrations/privileges';

/** Runs one statement and returns its rows (a TypeORM QueryRunner's query, or pg's rows). */
export type RunSql = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface Grantable {
  name: string;
  /** TABLE, SEQUENCE or FUNCTION, and the object as GRANT names it */
  kind: string;
  target: string;
  /** what conversations_app holds now, and whether PUBLIC holds anything */
  held: string[];
  publicHolds: boolean;
  /** whether the current user may change its rights (owner, or member of the owner's role) */
  owned: boolean;
}

/**
 * Makes the rights of conversations_app in schema public exactly those of the list in
 * migrations/privileges.ts, and takes every right from PUBLIC (functions are executable by
 * PUBLIC by default). Idempotent: an object already right is not touched. Run by the owner
 * after the migrations, in one transaction, so a running process never sees a half-applied
 * state. Only objects the current user owns (or is a member of the owner of) are changed: run
 * with a runtime URL (MIGRATION_DATABASE_URL unset) it changes nothing.
 */
export async function reconcilePrivileges(run: RunSql): Promise<string[]> {
  const objects = (await run(
    `WITH app AS (SELECT oid FROM pg_roles WHERE rolname = $1)
     SELECT c.relname AS name, CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind,
            format('public.%I', c.relname) AS target,
            ARRAY(SELECT a.privilege_type FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a, app
                   WHERE a.grantee = app.oid ORDER BY 1) AS held,
            EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a ` +
      `WHERE a.grantee = 0) AS "publicHolds",
            pg_has_role(c.relowner, 'USAGE') AS owned
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
     UNION ALL
     SELECT p.proname, 'FUNCTION', p.oid::regprocedure::text,
            ARRAY(SELECT a.privilege_type FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a, app
                   WHERE a.grantee = app.oid ORDER BY 1),
            EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = 0),
            pg_has_role(p.proowner, 'USAGE')
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public'`,
    [APP_ROLE],
  )) as unknown as Grantable[];

  const found = new Set(objects.map((o) => o.name));
  const missing = [...Object.keys(TABLE_PRIVILEGES), ...Object.keys(FUNCTION_PRIVILEGES)].filter((n) => !found.has(n));
  if (missing.length)
    throw new Error(`migrations/privileges.ts lists what schema public does not have: ${missing.join(', ')}`);

  const changed: string[] = [];
  for (const o of objects) {
    const wanted: readonly string[] =
      o.kind === 'FUNCTION'
        ? (FUNCTION_PRIVILEGES[o.name] ?? [])
        : o.kind === 'TABLE'
          ? (TABLE_PRIVILEGES[o.name] ?? [])
          : [];
    if (!o.owned || (!o.publicHolds && [...wanted].sort().join() === o.held.join())) continue;
    await run(`REVOKE ALL ON ${o.kind} ${o.target} FROM PUBLIC, ${ident(APP_ROLE)}`);
    if (wanted.length) await run(`GRANT ${wanted.join(', ')} ON ${o.kind} ${o.target} TO ${ident(APP_ROLE)}`);
    changed.push(o.target);
  }
  // No CREATE in the schema for the runtime (PUBLIC holds it on servers upgraded from before 15).
  const [schema] = await run(
    `SELECT pg_has_role(nspowner, 'USAGE') AS owned FROM pg_namespace WHERE nspname = 'public'`,
  );
  if (schema?.owned) await run(`REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${ident(APP_ROLE)}`);
  return changed;
}
