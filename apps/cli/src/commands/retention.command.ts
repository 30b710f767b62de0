import type { Pool } from 'pg';
import { provenance } from '@app/access';
import {
  listRetention,
  parseRetentionDays,
  RetentionInputError,
  RetentionRunFailed,
  runRetention,
  setRetention,
  validateTenantId,
} from '@app/retention';
import { optionalFlag, refuseUnknownFlags, requireFlag, UsageError } from '../args';
import { printTable } from './table';

const usage = <T>(fn: () => T): T => {
  try {
    return fn();
  } catch (err) {
    throw err instanceof RetentionInputError ? new UsageError(err.message) : err;
  }
};

/**
 * `retention:set --tenant <t> --days <n>` (1 to 36500) or `--off`: records RetentionSet in the
 * tenant's retention stream and its row, in one transaction; bad input writes nothing (exit 2).
 */
export async function retentionSet(pool: Pool, flags: Record<string, string | true>): Promise<void> {
  refuseUnknownFlags(flags, ['tenant', 'days', 'off', 'actor']);
  const tenantId = usage(() => validateTenantId(requireFlag(flags, 'tenant')));
  const off = flags.off !== undefined;
  if (off && flags.off !== true) throw new UsageError('--off takes no value');
  if (off === (flags.days !== undefined)) throw new UsageError('give either --days <n> or --off');
  const days = off ? null : usage(() => parseRetentionDays(requireFlag(flags, 'days')));
  const set = await setRetention(pool, { tenantId, days, by: provenance(optionalFlag(flags, 'actor')) });
  console.log(
    days === null
      ? `retention for tenant ${tenantId}: off (content is kept), set by ${set.setBy} at ${set.setAt.toISOString()}`
      : `retention for tenant ${tenantId}: ${days} days after a conversation's last event, ` +
          `set by ${set.setBy} at ${set.setAt.toISOString()}`,
  );
}

/** `retention:list`: every tenant that has or had a setting. */
export async function retentionList(pool: Pool, flags: Record<string, string | true>): Promise<void> {
  refuseUnknownFlags(flags, []);
  const settings = await listRetention(pool);
  printTable(
    ['tenant', 'days', 'set at', 'set by'],
    settings.map((s) => [s.tenantId, s.days === null ? 'off' : String(s.days), s.setAt.toISOString(), s.setBy]),
    '(no tenant has a retention setting: content is kept)',
  );
}

/**
 * `retention:run [--tenant <t>]`: one run now (what the projector does every RETENTION_INTERVAL),
 * with progress and each tenant's counts. Exit 1 when another run holds the lease.
 */
export async function retentionRun(pool: Pool, flags: Record<string, string | true>): Promise<number> {
  refuseUnknownFlags(flags, ['tenant']);
  const tenantId = flags.tenant === undefined ? undefined : usage(() => validateTenantId(requireFlag(flags, 'tenant')));
  let seen = 0;
  const result = await runRetention(pool, {
    tenantId,
    onTenant: (event, run) =>
      console.log(
        event === 'started'
          ? `tenant ${run.tenantId}: ${run.days} days, erasing content of conversations last written before ` +
              `${run.cutoff} (run ${run.runId})`
          : `tenant ${run.tenantId}: erased ${run.erased}, skipped (legal hold) ${run.skippedHeld}, ` +
              `fields stored before encryption (not erasable) ${run.plaintextFields}`,
      ),
    onConversation: () => {
      if (++seen % 100 === 0) console.error(`  ${seen} conversations done`);
    },
  }).catch((err: Error) => {
    if (!(err instanceof RetentionRunFailed)) throw err;
    for (const f of err.failures) {
      console.error(`tenant ${f.tenantId}: failed (${f.error.message}); the next run resumes where it stopped`);
    }
    return undefined;
  });
  if (result === undefined) return 1;
  if (result.state === 'busy') {
    console.error('another retention run holds the lease (a projector, or another retention:run): nothing done');
    return 1;
  }
  if (result.tenants.length === 0) {
    console.log(
      tenantId === undefined
        ? 'no tenant has retention on: nothing to do'
        : `tenant ${tenantId} has no retention setting, or it is off: nothing to do`,
    );
  }
  const total = result.tenants.reduce((t, r) => ({ erased: t.erased + r.erased, held: t.held + r.skippedHeld }), {
    erased: 0,
    held: 0,
  });
  console.log(`done: ${total.erased} conversations erased, ${total.held} skipped under legal hold`);
  return 0;
}
