import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@app/platform';
import { generateSigningKeyPem, parseVerifierKey, signerFromPem, type NoteSigner } from '@app/tlog';

/** The embedded default's key, beside its database files. */
export const DEFAULT_SIGNING_KEY_FILE = 'signing-key.pem';

/** A signing key and its public part (the private key stays in this process and its file). */
export interface SigningKey extends NoteSigner {
  publicKey: Buffer;
}

export class SigningKeyFileExists extends Error {}

/**
 * Writes a new Ed25519 private key (PKCS#8 PEM) readable by its owner only; never over an
 * existing file (`wx`: the check and the creation are one step).
 */
export function createSigningKeyFile(file: string): void {
  try {
    writeFileSync(file, generateSigningKeyPem(), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SigningKeyFileExists(`${file} exists: a signing key is never overwritten`);
    }
    throw err;
  }
}

/** The embedded default: `<dataDir>/signing-key.pem`, created once (mode 0600). */
export function ensureDefaultSigningKey(dataDir: string): string {
  const file = join(dataDir, DEFAULT_SIGNING_KEY_FILE);
  if (!existsSync(file)) createSigningKeyFile(file);
  chmodSync(file, 0o600);
  return file;
}

/** The key of a PEM file, named after the log's origin; a file that holds none stops the start naming it. */
export function readSigningKey(file: string, origin: string, variable = 'SIGNING_KEY_FILE'): SigningKey {
  let signer: NoteSigner;
  try {
    signer = signerFromPem(origin, readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(variable, `(${file}): ${(err as Error).message}`);
  }
  return { ...signer, publicKey: parseVerifierKey(signer.verifierKey).publicKey };
}
