import { ConfigError, Env, integer } from './env-values';

/** What keeps one caller from exhausting the service (README: "Limits"). */
export interface LimitsConfig {
  /** RATE_LIMITS=off switches the token buckets off (per key and per address). */
  rateLimits: boolean;
  /** Requests per second a key may make, and the burst it may save up. */
  perKey: number;
  keyBurst: number;
  /** Requests per second from one client address, checked before authentication. */
  perAddress: number;
  addressBurst: number;
  /** Open connections from one client address (with the rate limits: RATE_LIMITS=off lifts it). */
  maxConnectionsPerAddress: number;
  /** How long a client has to send a whole request, headers and body (then 408). */
  httpRequestTimeoutMs: number;
  /** How long a request waits for a database connection before 503 DATABASE_UNAVAILABLE. */
  dbConnectTimeoutMs: number;
  /** The audit pool (export, timeline, compliance, sample) and its cap on concurrent requests. */
  auditPoolSize: number;
  auditMaxConcurrent: number;
  /** A streamed response whose client has not read for this long is cut off. */
  exportIdleTimeoutMs: number;
  sseMaxPerKey: number;
  sseMaxLifetimeMs: number;
  maxConversationEvents: number;
  maxConversationBytes: number;
  /** Commands queued or running per conversation in one process; beyond, 503 CONVERSATION_BUSY. */
  commandQueuePerConversation: number;
  /** Events the command state cache holds, all conversations together (0: no cache). */
  commandCacheEvents: number;
}

const HOUR_MS = 3_600_000;

function onOff(env: Env, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new ConfigError(name, `must be on or off, got "${raw}"`);
}

export function loadLimits(env: Env): LimitsConfig {
  return {
    rateLimits: onOff(env, 'RATE_LIMITS'),
    perKey: integer(env, 'RATE_LIMIT_PER_KEY', 1_000, 1, 1_000_000),
    keyBurst: integer(env, 'RATE_LIMIT_BURST', 2_000, 1, 10_000_000),
    perAddress: integer(env, 'RATE_LIMIT_PER_ADDRESS', 1_000, 1, 1_000_000),
    addressBurst: integer(env, 'RATE_LIMIT_ADDRESS_BURST', 2_000, 1, 10_000_000),
    maxConnectionsPerAddress: integer(env, 'MAX_CONNECTIONS_PER_ADDRESS', 1_000, 1, 1_000_000),
    httpRequestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 60_000, 1_000, 600_000),
    dbConnectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    auditPoolSize: integer(env, 'AUDIT_POOL_SIZE', 4, 1, 100),
    auditMaxConcurrent: integer(env, 'AUDIT_MAX_CONCURRENT', 4, 1, 1_000),
    exportIdleTimeoutMs: integer(env, 'EXPORT_IDLE_TIMEOUT_MS', 30_000, 100, HOUR_MS),
    sseMaxPerKey: integer(env, 'SSE_MAX_PER_KEY', 10, 1, 10_000),
    sseMaxLifetimeMs: integer(env, 'SSE_MAX_LIFETIME_MS', HOUR_MS, 100, 24 * HOUR_MS),
    maxConversationEvents: integer(env, 'MAX_CONVERSATION_EVENTS', 50_000, 1, 100_000_000),
    maxConversationBytes: integer(env, 'MAX_CONVERSATION_BYTES', 200 * 1024 * 1024, 1_024, Number.MAX_SAFE_INTEGER),
    commandQueuePerConversation: integer(env, 'COMMAND_QUEUE_PER_CONVERSATION', 256, 1, 100_000),
    commandCacheEvents: integer(env, 'COMMAND_CACHE_EVENTS', 500_000, 0, 100_000_000),
  };
}
