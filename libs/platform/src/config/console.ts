import { parseVerifierKey } from '@app/tlog';
import { ConfigError, Env } from './env-values';

/** The auditor console the API serves under /console (README: "Auditor console"). */
export interface ConsoleConfig {
  /** CONSOLE_DIR: the built console (index.html, assets/); default dist/console. */
  dir: string;
  /**
   * CONSOLE_VERIFIER_KEYS: the verifier keys (C2SP note keys) the console checks checkpoint
   * signatures against, as the operator pins them; each checked at start.
   */
  verifierKeys: string[];
}

export function loadConsole(env: Env): ConsoleConfig {
  const dir = env.CONSOLE_DIR && env.CONSOLE_DIR !== '' ? env.CONSOLE_DIR : 'dist/console';
  const raw = env.CONSOLE_VERIFIER_KEYS ?? '';
  const verifierKeys = raw
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  for (const key of verifierKeys) {
    try {
      parseVerifierKey(key);
    } catch (err) {
      throw new ConfigError(
        'CONSOLE_VERIFIER_KEYS',
        `holds "${key}", which is not a verifier key (<name>+<key id>+<Ed25519 key>): ${(err as Error).message}`,
      );
    }
  }
  return { dir, verifierKeys };
}
