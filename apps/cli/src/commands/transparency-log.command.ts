import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import { NoteError, parseVerifierKey, type NoteVerifier } from '@app/tlog';
import {
  catchUpSequencer,
  CheckpointSigner,
  createSigningKeyFile,
  DEFAULT_SIGNING_KEY_FILE,
  readSigningKey,
  resolveOrigin,
  SigningKeyFileExists,
  verifyAgainstCheckpoint,
} from '@app/transparency';
import { optionalFlag, refuseUnknownFlags, requireFlag, UsageError } from '../args';
import { Progress } from '../progress';

type Flags = Record<string, string | true>;

/** `signing-key:create --out <file>`: a new Ed25519 key (PKCS#8 PEM, mode 0600); never overwrites. */
export function signingKeyCreate(flags: Flags): number {
  refuseUnknownFlags(flags, ['out']);
  const out = requireFlag(flags, 'out');
  try {
    createSigningKeyFile(out);
  } catch (err) {
    if (err instanceof SigningKeyFileExists) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  console.log(`wrote ${out} (mode 0600): set SIGNING_KEY_FILE=${out}`);
  return 0;
}

/** SIGNING_KEY_FILE, else the embedded default's key when the embedded server is used. */
export function signingKeyFileOf(config: AppConfig, embedded: boolean): string | undefined {
  if (config.transparencyLog.signingKeyFile) return config.transparencyLog.signingKeyFile;
  const file = join(config.dataDir, DEFAULT_SIGNING_KEY_FILE);
  return embedded && existsSync(file) ? file : undefined;
}

/** `checkpoint`: sequences what the log holds (unless the service does), signs now, prints the note. */
export async function checkpointCommand(pool: Pool, config: AppConfig, keyFile: string | undefined): Promise<number> {
  if (!keyFile) {
    console.error('no signing key: set SIGNING_KEY_FILE (npm run cli -- signing-key:create --out <file>)');
    return 1;
  }
  const origin = await resolveOrigin(pool, config.transparencyLog.origin);
  await catchUpSequencer(pool, new PostgresEventStore(pool));
  const signer = new CheckpointSigner(pool, origin, readSigningKey(keyFile, origin), {
    checkpointDir: config.transparencyLog.checkpointDir,
    log: { error: (m) => console.error(m), warn: (m) => console.error(m) },
  });
  const signed = await signer.sign();
  process.stdout.write(signed!.note);
  return 0;
}

/**
 * `verify --checkpoint <file> [--key <vkey>]`: the tree recomputed from es_events against a
 * signed checkpoint kept elsewhere; the key given, else the configured signing key's.
 */
export async function verifyCheckpoint(pool: Pool, flags: Flags, keyFile: string | undefined): Promise<number> {
  refuseUnknownFlags(flags, ['checkpoint', 'key']);
  const file = requireFlag(flags, 'checkpoint');
  if (!existsSync(file)) throw new UsageError(`--checkpoint: no such file ${file}`);
  const note = readFileSync(file, 'utf8');
  const origin = note.slice(0, note.indexOf('\n'));
  const key = optionalFlag(flags, 'key');
  let verifier: NoteVerifier;
  try {
    if (key) verifier = parseVerifierKey(key);
    else if (keyFile) verifier = parseVerifierKey(readSigningKey(keyFile, origin).verifierKey);
    else throw new UsageError('no key: give --key <verifier key> or set SIGNING_KEY_FILE');
  } catch (err) {
    if (err instanceof NoteError) throw new UsageError(`--key: ${err.message}`);
    throw err;
  }
  let progress: Progress | null = null;
  let seen = 0;
  let result;
  try {
    result = await verifyAgainstCheckpoint(pool, note, [verifier], (events, total) => {
      progress ??= new Progress('recomputing the tree', total);
      progress.tick(events - seen);
      seen = events;
    });
  } catch (err) {
    if (!(err instanceof NoteError)) throw err;
    console.log(`FAILED: the checkpoint does not verify with ${verifier.name}: ${err.message}`);
    return 1;
  }
  (progress as Progress | null)?.done();
  console.log(result.message);
  return result.ok ? 0 : 1;
}
