import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryResult, QueryResultRow } from 'pg';
import { ConfigError } from '@app/platform';

/**
 * What wraps the conversations' data keys. The service holds one current master key and may
 * hold older ones (to unwrap keys wrapped before a rotation, until `content-keys:rewrap` has
 * re-wrapped them). A file today; a KMS can implement the same three members. `context` is bound
 * to the wrapped bytes (associated data): a wrapped key copied to another row does not unwrap.
 */
export interface MasterKey {
  /** Stable and not secret: stored beside every key it wrapped. */
  readonly id: string;
  wrap(dataKey: Buffer, context: string): Promise<Buffer>;
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>;
}

/** The master keys a process knows: the current one wraps, any of them unwraps its own. */
export interface MasterKeyRing {
  readonly current: MasterKey;
  byId(id: string): MasterKey | undefined;
}

export class MasterKeyError extends Error {}

/** The embedded default's master key, beside its database files (apart from the password and the signing key). */
export const DEFAULT_CONTENT_KEY_FILE = 'content-key';

const KEY_BYTES = 32;

/** AES-256-GCM key wrapping with a key held in this process: `iv (12) ‖ tag (16) ‖ ciphertext`. */
export class LocalMasterKey implements MasterKey {
  readonly id: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new MasterKeyError(`a master key is ${KEY_BYTES} bytes, not ${key.length}`);
    this.id = `local:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  }

  async wrap(dataKey: Buffer, context: string): Promise<Buffer> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ct]);
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    if (wrapped.length < 28) throw new MasterKeyError('a wrapped key is too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, wrapped.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(wrapped.subarray(12, 28));
      return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
    } catch (err) {
      throw new MasterKeyError(`master key ${this.id} does not unwrap this key (${(err as Error).message})`);
    }
  }
}

/** A key file: one line, the base64 of 32 random bytes. */
export function readMasterKeyFile(file: string): LocalMasterKey {
  const text = readFileSync(file, 'utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== text) {
    throw new MasterKeyError(`${file} does not hold a master key (one line: the base64 of ${KEY_BYTES} bytes)`);
  }
  return new LocalMasterKey(key);
}

export class MasterKeyFileExists extends Error {}

/** Writes a new master key readable by its owner only; never over an existing file. */
export function createMasterKeyFile(file: string): LocalMasterKey {
  const key = randomBytes(KEY_BYTES);
  try {
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MasterKeyFileExists(`${file} exists: a master key is never overwritten`);
    }
    throw err;
  }
  return new LocalMasterKey(key);
}

/** The embedded default: `<dataDir>/content-key`, created once (mode 0600). */
export function ensureDefaultMasterKeyFile(dataDir: string): string {
  const file = join(dataDir, DEFAULT_CONTENT_KEY_FILE);
  if (!existsSync(file)) createMasterKeyFile(file);
  chmodSync(file, 0o600);
  return file;
}

/** A ring of the current key and older ones (their ids must differ). */
export function masterKeyRing(current: MasterKey, previous: readonly MasterKey[] = []): MasterKeyRing {
  const all = new Map<string, MasterKey>();
  for (const k of [current, ...previous]) if (!all.has(k.id)) all.set(k.id, k);
  return { current, byId: (id) => all.get(id) };
}

/** The ring CONTENT_KEY_FILE and CONTENT_KEY_PREVIOUS_FILES name; a file without a key stops the start, named. */
export function readMasterKeyRing(keyFile: string, previousKeyFiles: readonly string[] = []): MasterKeyRing {
  const read = (file: string, variable: string) => {
    try {
      return readMasterKeyFile(file);
    } catch (err) {
      throw new ConfigError(variable, `(${file}): ${(err as Error).message}`);
    }
  };
  return masterKeyRing(
    read(keyFile, 'CONTENT_KEY_FILE'),
    previousKeyFiles.map((f) => read(f, 'CONTENT_KEY_PREVIOUS_FILES')),
  );
}

/**
 * Every live content key's master key is in the ring; else a ConfigError naming
 * CONTENT_KEY_PREVIOUS_FILES (a rotation that left the old key out), with the ids missing.
 */
export async function assertMasterKeysHeld(
  db: { query<R extends QueryResultRow>(text: string): Promise<QueryResult<R>> },
  ring: MasterKeyRing,
): Promise<void> {
  const { rows } = await db.query<{ id: string; n: number }>(
    `SELECT master_key_id AS id, count(*)::int AS n FROM content_keys
      WHERE destroyed_at IS NULL GROUP BY master_key_id`,
  );
  const missing = rows.filter((r) => !ring.byId(r.id));
  if (missing.length === 0) return;
  throw new ConfigError(
    'CONTENT_KEY_PREVIOUS_FILES',
    `does not hold master key ${missing.map((m) => `${m.id} (${m.n} live content keys)`).join(', ')}, ` +
      `and CONTENT_KEY_FILE's is ${ring.current.id}: give the older key file here until ` +
      '`npm run cli -- content-keys:rewrap` has re-wrapped them',
  );
}
