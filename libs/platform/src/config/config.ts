import { existsSync, readFileSync } from 'node:fs';
import { LimitsConfig, loadLimits } from './limits';

/** Thrown when the environment is invalid; the message names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  /** Absent: an embedded PostgreSQL server is started with its data in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  port: number;
  host: string;
  logLevel: LogLevel;
  /** Raw JSON of the policy override file, validated by the domain's parser. */
  policyJson?: unknown;
  policyFile?: string;
  dbPoolSize: number;
  /** Run the projections inside the API process (false when apps/projector runs them). */
  projectionsInProcess: boolean;
  /** Rate limits, pools and caps that keep one caller from exhausting the service. */
  limits: LimitsConfig;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

export type Env = Record<string, string | undefined>;

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a URL (expected postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must use postgres:// or postgresql://, got ${url.protocol}//`);
  }
  return raw;
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
    databaseUrl: databaseUrl(env),
    dataDir: env.DATA_DIR && env.DATA_DIR !== '' ? env.DATA_DIR : './data',
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST && env.HOST !== '' ? env.HOST : '0.0.0.0',
    logLevel,
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 20, 1, 500),
    projectionsInProcess: boolean(env, 'PROJECTIONS_IN_PROCESS', true),
    limits: loadLimits(env),
    ...policy(env),
  };
}
