import { existsSync } from 'node:fs';
import { ConfigError, Env, integer } from './env-values';

/** The transparency log's signer (README: "Transparency log"). */
export interface TransparencyLogConfig {
  /** LOG_ORIGIN: the log's name; absent: the stored one, else a default derived from the database. */
  origin?: string;
  /** SIGNING_KEY_FILE: Ed25519 PKCS#8 PEM. Absent: the embedded default keeps one in DATA_DIR, else no signer. */
  signingKeyFile?: string;
  /** CHECKPOINT_INTERVAL (seconds): how often a checkpoint is signed when the tree grew. */
  checkpointIntervalMs: number;
  /** CHECKPOINT_DIR: each checkpoint is also written there as a file. */
  checkpointDir?: string;
}

/** A C2SP checkpoint origin (and key name): no spaces, no '+', at most 255 bytes. */
export const ORIGIN_PATTERN = /^[^\s+]{1,255}$/;

export function loadTransparencyLog(env: Env): TransparencyLogConfig {
  const origin = env.LOG_ORIGIN || undefined;
  if (origin !== undefined && !ORIGIN_PATTERN.test(origin)) {
    throw new ConfigError('LOG_ORIGIN', 'must be 1 to 255 characters without spaces or "+" (e.g. example.com/log)');
  }
  const signingKeyFile = env.SIGNING_KEY_FILE || undefined;
  if (signingKeyFile !== undefined && !existsSync(signingKeyFile)) {
    throw new ConfigError(
      'SIGNING_KEY_FILE',
      `names a file that does not exist: ${signingKeyFile} (npm run cli -- signing-key:create --out <file>)`,
    );
  }
  return {
    origin,
    signingKeyFile,
    checkpointIntervalMs: integer(env, 'CHECKPOINT_INTERVAL', 60, 1, 86_400) * 1000,
    checkpointDir: env.CHECKPOINT_DIR || undefined,
  };
}
