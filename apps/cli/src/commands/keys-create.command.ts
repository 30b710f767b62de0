import type { DataSource } from 'typeorm';
import { createApiKey, KeyInputError } from '@app/access';
import { optionalFlag, refuseUnknownFlags, requireFlag, UsageError } from '../args';

const DAY_MS = 86_400_000;
const MAX_DAYS = 3650;

/** `--expires 90d`: that many whole days from now (1 to 3650). */
export function parseExpiry(value: string | undefined, now = Date.now()): Date | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,4})d$/.exec(value.trim());
  const days = m ? Number(m[1]) : NaN;
  if (!(days >= 1 && days <= MAX_DAYS))
    throw new UsageError(`--expires must be a number of days from 1d to ${MAX_DAYS}d, like 90d; got "${value}"`);
  return new Date(now + days * DAY_MS);
}

/**
 * `keys:create`: prints the new key alone on its last line (it is shown once; only its hash is
 * kept). Bad input is a UsageError naming the flag, and nothing is written.
 */
export async function keysCreate(db: DataSource, flags: Record<string, string | true>): Promise<void> {
  refuseUnknownFlags(flags, ['role', 'tenant', 'label', 'holder', 'expires', 'actor']);
  const role = requireFlag(flags, 'role');
  const tenantId = requireFlag(flags, 'tenant');
  const label = optionalFlag(flags, 'label');
  const holder = optionalFlag(flags, 'holder');
  const actor = optionalFlag(flags, 'actor');
  const expiresAt = parseExpiry(optionalFlag(flags, 'expires'));
  if (!holder && (role === 'auditor' || role === 'operator' || role === 'admin')) {
    console.error(
      `note: this ${role} key names no person (--holder); what it records is told apart from others by key only`,
    );
  }
  const created = await createApiKey(db, { role, tenantId, label, holder, expiresAt, actor }).catch((err: Error) => {
    throw err instanceof KeyInputError ? new UsageError(err.message) : err;
  });
  const until = created.expiresAt ? `, expires ${created.expiresAt.toISOString()}` : '';
  const by = holder ? ` held by ${holder}` : '';
  console.log(
    `created ${role} key ${created.id} for tenant ${tenantId}${by}${until}; store it now, it is not shown again:`,
  );
  console.log(created.key);
}
