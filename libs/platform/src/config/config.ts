import { existsSync, readFileSync } from 'node:fs';
import { boolean, ConfigError, Env, integer } from './env-values';
import { ConsoleConfig, loadConsole } from './console';
import { ContentKeysConfig, loadContentKeys } from './content-keys';
import { LimitsConfig, loadLimits } from './limits';
import { loadTransparencyLog, TransparencyLogConfig } from './transparency-log';

// The value parsers live apart so that limits.ts can use them without a cycle.
export { boolean, ConfigError, integer };
export type { Env };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  /** The runtime connection. Absent: an embedded PostgreSQL server is started with its data in `dataDir`. */
  databaseUrl?: string;
  /** The owner's connection, for migrations (default: databaseUrl). */
  migrationDatabaseUrl?: string;
  /** A streaming replica of databaseUrl's server, as the runtime login: the audit reads go there. */
  readDatabaseUrl?: string;
  /** Refuse to start when the runtime connection could switch the append-only guard off. */
  strictDbPrivileges: boolean;
  /** Per runtime connection (0: none). */
  dbStatementTimeoutMs: number;
  dbIdleInTransactionTimeoutMs: number;
  /** Serve HTTPS with this certificate and key (PEM), read at start. */
  tls?: { certFile: string; keyFile: string; cert: Buffer; key: Buffer };
  dataDir: string;
  port: number;
  host: string;
  logLevel: LogLevel;
  /** Raw JSON of the policy override file, validated by the domain's parser. */
  policyJson?: unknown;
  policyFile?: string;
  dbPoolSize: number;
  /**
   * API processes serving the port (node:cluster); 1 runs the service in this process alone. Each
   * worker has its own pools, batch connection and LISTEN connections.
   */
  workers: number;
  /** Run the projections inside the API process (false when apps/projector runs them). */
  projectionsInProcess: boolean;
  /** Entries of each API key cache (known keys, and apart from them, unknown keys). */
  apiKeyCacheSize: number;
  /** Rate limits, pools and caps that keep one caller from exhausting the service. */
  limits: LimitsConfig;
  /** LOG_ORIGIN, SIGNING_KEY_FILE, CHECKPOINT_INTERVAL, CHECKPOINT_DIR. */
  transparencyLog: TransparencyLogConfig;
  /** Access entries (who read what): buffer size, flush interval and streams per tenant. */
  accessLog: { buffer: number; flushMs: number; shards: number };
  /** CONSOLE_DIR, CONSOLE_VERIFIER_KEYS: the auditor console served under /console. */
  console: ConsoleConfig;
  /** CONTENT_KEY_FILE, CONTENT_KEY_PREVIOUS_FILES: the master keys of content encryption. */
  contentKeys: ContentKeysConfig;
  /** RETENTION_INTERVAL (seconds, default 3600): how often the projector runs the retention job. */
  retention: { intervalMs: number };
}

function databaseUrl(
  env: Env,
  name: 'DATABASE_URL' | 'MIGRATION_DATABASE_URL' | 'READ_DATABASE_URL',
): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a URL (expected postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(name, `must use postgres:// or postgresql://, got ${url.protocol}//`);
  }
  return raw;
}

/**
 * The runtime URL, the owner's and the replica's; the embedded server migrates as its own
 * superuser and has no replica.
 */
function databaseUrls(env: Env): Pick<AppConfig, 'databaseUrl' | 'migrationDatabaseUrl' | 'readDatabaseUrl'> {
  const runtime = databaseUrl(env, 'DATABASE_URL');
  const migration = databaseUrl(env, 'MIGRATION_DATABASE_URL');
  const read = databaseUrl(env, 'READ_DATABASE_URL');
  if (migration && !runtime) {
    throw new ConfigError(
      'MIGRATION_DATABASE_URL',
      'needs DATABASE_URL as well (without it the embedded server is used, which migrates as its own superuser)',
    );
  }
  if (read && !runtime) {
    throw new ConfigError(
      'READ_DATABASE_URL',
      'needs DATABASE_URL as well (a replica of the server DATABASE_URL names; the embedded server has none)',
    );
  }
  return { databaseUrl: runtime, migrationDatabaseUrl: migration ?? runtime, readDatabaseUrl: read };
}

function readable(name: string, file: string): Buffer {
  if (!existsSync(file)) throw new ConfigError(name, `names a file that does not exist: ${file}`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(name, `cannot be read: ${(err as Error).message}`);
  }
}

/** Both TLS files or neither: one alone is a mistake, not plain HTTP. */
function tls(env: Env): AppConfig['tls'] {
  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile) throw new ConfigError('TLS_CERT_FILE', 'must be set with TLS_KEY_FILE (both or neither)');
  if (!keyFile) throw new ConfigError('TLS_KEY_FILE', 'must be set with TLS_CERT_FILE (both or neither)');
  return { certFile, keyFile, cert: readable('TLS_CERT_FILE', certFile), key: readable('TLS_KEY_FILE', keyFile) };
}

function policy(env: Env): { policyFile?: string; policyJson?: unknown } {
  const file = env.POLICY_FILE;
  if (file === undefined || file === '') return {};
  if (!existsSync(file)) throw new ConfigError('POLICY_FILE', `names a file that does not exist: ${file}`);
  try {
    return { policyFile: file, policyJson: JSON.parse(readFileSync(file, 'utf8')) };
  } catch (err) {
    throw new ConfigError('POLICY_FILE', `is not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads and validates the environment once, at start. */
export function loadConfig(env: Env = process.env): AppConfig {
  const logLevel = (env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  return {
    ...databaseUrls(env),
    strictDbPrivileges: boolean(env, 'STRICT_DB_PRIVILEGES', false),
    dbStatementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 30_000, 0, 86_400_000),
    dbIdleInTransactionTimeoutMs: integer(env, 'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', 60_000, 0, 86_400_000),
    tls: tls(env),
    dataDir: env.DATA_DIR && env.DATA_DIR !== '' ? env.DATA_DIR : './data',
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST && env.HOST !== '' ? env.HOST : '0.0.0.0',
    logLevel,
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 20, 1, 500),
    workers: integer(env, 'WORKERS', 1, 1, 64),
    projectionsInProcess: boolean(env, 'PROJECTIONS_IN_PROCESS', true),
    apiKeyCacheSize: integer(env, 'API_KEY_CACHE_SIZE', 10_000, 1, 1_000_000),
    limits: loadLimits(env),
    transparencyLog: loadTransparencyLog(env),
    accessLog: {
      buffer: integer(env, 'ACCESS_LOG_BUFFER', 20_000, 1, 10_000_000),
      flushMs: integer(env, 'ACCESS_LOG_FLUSH_MS', 1_000, 10, 1_000),
      shards: integer(env, 'ACCESS_LOG_SHARDS', 8, 1, 999),
    },
    console: loadConsole(env),
    contentKeys: loadContentKeys(env),
    retention: { intervalMs: integer(env, 'RETENTION_INTERVAL', 3600, 1, 604_800) * 1000 },
    ...policy(env),
  };
}
