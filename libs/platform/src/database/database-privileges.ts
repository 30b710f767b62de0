import { APP_ROLE } from '../../../../migrations/privileges';

/** "owner": the connection could switch the append-only guard off; "least": it could not. */
export type PrivilegeLevel = 'least' | 'owner';

export interface PrivilegeAssessment {
  level: PrivilegeLevel;
  user: string;
  /** The owner of es_events. */
  owner: string;
  /** Why the level is "owner" (empty for "least"). */
  reasons: string[];
  /** Whether the user holds conversations_app's rights. */
  memberOfApp: boolean;
}

/** Thrown at start under STRICT_DB_PRIVILEGES=true when the runtime connection is the owner's. */
export class PrivilegeRefusal extends Error {}

interface Queryable {
  query<R extends object>(sql: string): Promise<{ rows: R[] }>;
}

/**
 * What the runtime connection could do to the record: a superuser, the owner of es_events or
 * a member of the owner's role (who may SET ROLE to it) could disable its triggers, rewrite an
 * event, recompute the hashes and move the stream heads.
 */
export async function assessPrivileges(db: Queryable): Promise<PrivilegeAssessment> {
  const { rows } = await db.query<{
    user: string;
    superuser: boolean;
    owner: string;
    owns: boolean;
    member: boolean;
    app: boolean;
  }>(
    `SELECT current_user AS user, r.rolsuper AS superuser, pg_get_userbyid(c.relowner) AS owner, ` +
      `c.relowner = r.oid AS owns,
            pg_has_role(r.oid, c.relowner, 'MEMBER') AS member,
            EXISTS (SELECT 1 FROM pg_roles a WHERE a.rolname = '${APP_ROLE}' ` +
      `AND pg_has_role(r.oid, a.oid, 'USAGE')) AS app
       FROM pg_roles r, pg_class c
      WHERE r.rolname = current_user AND c.oid = 'public.es_events'::regclass`,
  );
  const [r] = rows;
  const reasons = [
    ...(r.superuser ? ['is a superuser'] : []),
    ...(r.owns ? ['owns es_events'] : []),
    ...(!r.superuser && !r.owns && r.member ? [`is a member of "${r.owner}", the owner of es_events`] : []),
  ];
  return { level: reasons.length ? 'owner' : 'least', user: r.user, owner: r.owner, reasons, memberOfApp: r.app };
}

const risk = (a: PrivilegeAssessment) =>
  `DATABASE_URL connects as "${a.user}", which ${a.reasons.join(' and ')}: the running service could disable the ` +
  `append-only triggers of es_events and rewrite the record, hashes included`;

const remedy = (a: PrivilegeAssessment) =>
  `Run it as a login that holds only ${APP_ROLE}: as an administrator, ` +
  `CREATE ROLE conversations_service LOGIN PASSWORD '<password>'; ` +
  `GRANT ${APP_ROLE} TO conversations_service; then set DATABASE_URL to connect as conversations_service ` +
  `and MIGRATION_DATABASE_URL as "${a.owner}" (the owner, for migrations).`;

/**
 * Checks the runtime connection at start: with owner rights, a warning naming the risk, or
 * under `strict` a PrivilegeRefusal saying what to create and grant. Returns the level for /health.
 */
export async function checkRuntimePrivileges(
  db: Queryable,
  options: { strict: boolean; warn: (message: string) => void },
): Promise<PrivilegeLevel> {
  const a = await assessPrivileges(db);
  if (a.level === 'owner') {
    if (options.strict)
      throw new PrivilegeRefusal(`STRICT_DB_PRIVILEGES=true refuses to start: ${risk(a)}. ${remedy(a)}`);
    options.warn(`${risk(a)}. ${remedy(a)} STRICT_DB_PRIVILEGES=true refuses to start like this.`);
  } else if (!a.memberOfApp) {
    options.warn(
      `DATABASE_URL connects as "${a.user}", which is not a member of ${APP_ROLE}: GRANT ${APP_ROLE} TO "${a.user}"`,
    );
  }
  return a.level;
}
