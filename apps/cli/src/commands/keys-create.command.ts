import { Pool } from 'pg';
import { createApiKey } from '../../../api/src/auth/api-keys';
import { requireFlag, UsageError } from '../args';

/** Prints the new key alone on its last line (it is shown once; only its hash is kept). */
export async function keysCreate(pool: Pool, flags: Record<string, string | true>): Promise<void> {
  const role = requireFlag(flags, 'role');
  const tenantId = requireFlag(flags, 'tenant');
  const label = typeof flags.label === 'string' ? flags.label : undefined;
  const key = await createApiKey(pool, { role, tenantId, label }).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  console.log(`created ${role} key ${key.id} for tenant ${tenantId}; store it now, it is not shown again:`);
  console.log(key.key);
}
