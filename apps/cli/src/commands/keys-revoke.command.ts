import type { DataSource } from 'typeorm';
import { KeyInputError, parseKeyId, revokeApiKey, UnknownApiKey } from '@app/access';
import { optionalFlag, refuseUnknownFlags, UsageError } from '../args';

/**
 * `keys:revoke <keyId>`: the key stops working in every API process within a second (NOTIFY).
 * Returns the exit code: 0 revoked (or revoked already), 1 no such key.
 */
export async function keysRevoke(
  db: DataSource,
  positional: string[],
  flags: Record<string, string | true>,
): Promise<number> {
  refuseUnknownFlags(flags, ['reason', 'actor']);
  if (positional.length !== 1) throw new UsageError('keys:revoke takes one key id (see keys:list)');
  const reason = optionalFlag(flags, 'reason');
  const actor = optionalFlag(flags, 'actor');
  try {
    const id = parseKeyId(positional[0]);
    const { revokedAt, already } = await revokeApiKey(db, id, { reason, actor });
    console.log(
      already
        ? `key ${id} was revoked already, at ${revokedAt.toISOString()}; nothing changed`
        : `revoked key ${id} at ${revokedAt.toISOString()}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof KeyInputError) throw new UsageError(err.message);
    if (err instanceof UnknownApiKey) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}
