import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { APP_ROLE, ENSURE_APP_ROLE } from '../../../../migrations/privileges';

/** The login the service runs as on the embedded server. */
export const EMBEDDED_SERVICE_LOGIN = 'conversations_service';

/**
 * On the embedded server the service runs least-privileged out of the box: migrations run as
 * the superuser, and the service as a login granted only conversations_app. Its password is
 * generated once and kept in `<dataDir>/service-credentials` (mode 0600); it is set again at
 * every start, so the file is the truth. Returns the service's URL.
 */
export async function ensureEmbeddedServiceLogin(superuserUrl: string, dataDir: string): Promise<string> {
  const file = join(dataDir, 'service-credentials');
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  chmodSync(file, 0o600); // also a file copied in or left readable: only the service's user reads it
  const password = readFileSync(file, 'utf8').trim();
  const admin = new Client({ connectionString: superuserUrl });
  await admin.connect();
  try {
    await admin.query(ENSURE_APP_ROLE);
    const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [EMBEDDED_SERVICE_LOGIN]);
    const verb = rowCount ? 'ALTER' : 'CREATE';
    // Whatever it was before: a plain login, with only what conversations_app grants.
    await admin.query(
      `${verb} ROLE ${EMBEDDED_SERVICE_LOGIN} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE ` +
        `PASSWORD ${admin.escapeLiteral(password)}`,
    );
    await admin.query(`GRANT ${APP_ROLE} TO ${EMBEDDED_SERVICE_LOGIN}`);
  } finally {
    await admin.end();
  }
  const url = new URL(superuserUrl);
  url.username = EMBEDDED_SERVICE_LOGIN;
  url.password = password;
  return url.toString();
}
