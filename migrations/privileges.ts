/**
 * What the running service may do in the database: the rights of the NOLOGIN group role
 * `conversations_app`, which the operator grants to the runtime login. The one list: after
 * every migration run, runMigrations revokes everything the role holds in schema public and
 * grants exactly this (reconcilePrivileges), and an integration test compares it with the
 * catalog, so a table or function added without an entry fails the tests.
 *
 * The log itself (es_events, es_streams, es_idempotency) is written only through the append
 * functions, SECURITY DEFINER and owned by the owner: the runtime cannot disable a trigger,
 * rewrite an event or move a stream head, even with the hashes recomputed.
 */
export const APP_ROLE = 'conversations_app';

export type TableRight = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE';

/** Read models are rebuilt from the log: written freely, emptied by a rebuild (TRUNCATE). */
const READ_MODEL: readonly TableRight[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'];

/** Every table and view in schema public: the runtime's rights on it (none: an empty list). */
export const TABLE_PRIVILEGES: Readonly<Record<string, readonly TableRight[]>> = {
  es_events: ['SELECT'],
  es_streams: ['SELECT'],
  // read only through es_idempotent_result
  es_idempotency: [],
  // a cache of folded states, rewritten by commands; never read without checking its event's hash
  es_snapshots: ['SELECT', 'INSERT', 'UPDATE'],
  // keys:create may run with the runtime URL; revocation marks a row (api_keys_guard lets an
  // update set last_used_at, and revoke, nothing else)
  api_keys: ['SELECT', 'INSERT', 'UPDATE'],
  projection_checkpoints: ['SELECT', 'INSERT', 'UPDATE'],
  rm_conversations: READ_MODEL,
  rm_messages: READ_MODEL,
  rm_ends: READ_MODEL,
  rm_blocked_ends: READ_MODEL,
  rm_daily_ends: READ_MODEL,
  rm_daily_started: READ_MODEL,
  rm_reviews: READ_MODEL,
  // the transparency log: evidence, append-only for every role (triggers refuse the rest)
  tlog_origin: ['SELECT', 'INSERT'],
  tlog_ranges: ['SELECT', 'INSERT'],
  tlog_nodes: ['SELECT', 'INSERT'],
  tlog_keys: ['SELECT', 'INSERT'],
  tlog_checkpoints: ['SELECT', 'INSERT'],
  // who read what (access entries), rebuilt from the access streams
  rm_access: READ_MODEL,
  // data keys, wrapped: made by commands, destroyed by erasure (content_keys_guard: nothing else
  // may change, a destroyed key stays destroyed), never deleted
  content_keys: ['SELECT', 'INSERT', 'UPDATE'],
  // legal holds, written with their events; released by an update, never deleted
  subject_holds: ['SELECT', 'INSERT', 'UPDATE'],
  // per-tenant retention, written with its RetentionSet event (retention:set); turned off by an
  // update to NULL days, never deleted; the retention job stamps last_run_at
  retention_settings: ['SELECT', 'INSERT', 'UPDATE'],
  // a service given only DATABASE_URL checks that nothing is pending (and applies nothing)
  typeorm_migrations: ['SELECT'],
};

/** Every function in schema public: whether the runtime may call it. */
export const FUNCTION_PRIVILEGES: Readonly<Record<string, readonly 'EXECUTE'[]>> = {
  es_append_bodies: ['EXECUTE'],
  es_append_batch_bodies: ['EXECUTE'],
  es_idempotent_result: ['EXECUTE'],
  // trigger functions: fired by the table, never called
  es_events_stamp: [],
  es_events_append_only: [],
  api_keys_guard: [],
  tlog_append_only: [],
  content_keys_guard: [],
};

/**
 * Creates the group role unless it exists. Roles are cluster-wide: several databases on one
 * server share it, and migrations of two of them may race to create it.
 */
export const ENSURE_APP_ROLE = `
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
    BEGIN
      CREATE ROLE ${APP_ROLE} NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL;  -- created meanwhile by another database's migration
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'role ${APP_ROLE} does not exist and % may not create it', current_user
          USING HINT = 'as an administrator: CREATE ROLE ${APP_ROLE} NOLOGIN; then run the migrations again';
    END;
  END IF;
END $$`;
