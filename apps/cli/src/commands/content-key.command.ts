import { createMasterKeyFile, MasterKeyFileExists } from '@app/privacy';
import { refuseUnknownFlags, requireFlag } from '../args';

/**
 * `content-key:create --out <file>`: a new master key for CONTENT_KEY_FILE (one line of base64,
 * mode 0600); never overwrites a file (a master key overwritten makes every conversation's
 * content unreadable for good).
 */
export function contentKeyCreate(flags: Record<string, string | true>): number {
  refuseUnknownFlags(flags, ['out']);
  const out = requireFlag(flags, 'out');
  let id: string;
  try {
    id = createMasterKeyFile(out).id;
  } catch (err) {
    if (err instanceof MasterKeyFileExists) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  console.log(
    `wrote ${out} (mode 0600, master key ${id}): set CONTENT_KEY_FILE=${out}, and back it up apart from the database`,
  );
  return 0;
}
