import type { Pool } from 'pg';
import { contentKeyStatus, type MasterKeyRing, rewrapContentKeys } from '@app/privacy';
import { refuseUnknownFlags, UsageError } from '../args';
import { printTable } from './table';

/** `content-keys:status`: live and destroyed content keys per master key; which is current when known. */
export async function contentKeysStatus(
  pool: Pool,
  flags: Record<string, string | true>,
  currentId: string | undefined,
): Promise<void> {
  refuseUnknownFlags(flags, []);
  const counts = await contentKeyStatus(pool);
  printTable(
    ['master key', 'live', 'destroyed'],
    counts.map((c) => [
      c.masterKeyId === null
        ? '(none: destroyed)'
        : `${c.masterKeyId}${c.masterKeyId === currentId ? ' (current)' : ''}`,
      String(c.live),
      String(c.destroyed),
    ]),
    '(no content keys)',
  );
  const stale = counts.filter((c) => c.masterKeyId !== null && currentId !== undefined && c.masterKeyId !== currentId);
  if (stale.length > 0) {
    console.log(
      `${stale.reduce((n, c) => n + c.live, 0)} live keys are wrapped by an older master key: ` +
        'run content-keys:rewrap with it in CONTENT_KEY_PREVIOUS_FILES',
    );
  }
}

/**
 * `content-keys:rewrap`: every live content key wrapped by an older master key is wrapped by
 * CONTENT_KEY_FILE's; no event is rewritten. Refuses (exit 1, nothing written) when an old key
 * is missing from CONTENT_KEY_PREVIOUS_FILES.
 */
export async function contentKeysRewrap(
  pool: Pool,
  flags: Record<string, string | true>,
  ring: MasterKeyRing,
): Promise<void> {
  refuseUnknownFlags(flags, ['batch']);
  const batchSize = flags.batch === undefined ? 500 : Number(flags.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new UsageError(`--batch must be a whole number from 1 to 10000; got "${String(flags.batch)}"`);
  }
  const result = await rewrapContentKeys(pool, ring, {
    batchSize,
    onBatch: ({ rewrapped, remaining }) => console.error(`  ${rewrapped} rewrapped, ${remaining} to go`),
  });
  const meanwhile =
    result.changedMeanwhile > 0 ? ` (${result.changedMeanwhile} destroyed or rewrapped elsewhere meanwhile)` : '';
  const left = (await contentKeyStatus(pool)).filter(
    (c) => c.masterKeyId !== null && c.masterKeyId !== ring.current.id,
  );
  console.log(`rewrapped ${result.rewrapped} content keys under master key ${ring.current.id}${meanwhile}`);
  console.log(
    left.length === 0
      ? 'every live content key is wrapped by the current master key: CONTENT_KEY_PREVIOUS_FILES is no longer needed'
      : `${left.reduce((n, c) => n + c.live, 0)} live keys were made under an older master key meanwhile ` +
          '(a process still runs with it as CONTENT_KEY_FILE): restart it with the new key and run again',
  );
}
