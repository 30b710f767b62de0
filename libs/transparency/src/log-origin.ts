import type { Pool } from 'pg';
import { ConfigError } from '@app/platform';

/**
 * The log's origin: stored by the first process that needs it (LOG_ORIGIN, else a default
 * derived from the database: its name and a random id drawn once) and never changed. A
 * LOG_ORIGIN that differs from the stored one stops the start: a log keeps its name.
 */
export async function resolveOrigin(pool: Pool, configured: string | undefined): Promise<string> {
  await pool.query(
    `INSERT INTO tlog_origin (origin)
     SELECT coalesce($1::text, 'conversation-log/' ||
       left(regexp_replace(current_database(), '[^A-Za-z0-9._-]', '-', 'g'), 200) || '/' ||
       left(md5(gen_random_uuid()::text), 12))
     WHERE NOT EXISTS (SELECT 1 FROM tlog_origin)
     ON CONFLICT DO NOTHING`,
    [configured ?? null],
  );
  const { rows } = await pool.query<{ origin: string }>('SELECT origin FROM tlog_origin');
  const stored = rows[0].origin;
  if (configured !== undefined && configured !== stored) {
    throw new ConfigError(
      'LOG_ORIGIN',
      `is "${configured}" but this database's log is "${stored}": a log's origin never changes`,
    );
  }
  return stored;
}
