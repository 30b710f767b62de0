import type { ClientConfig } from 'pg';

export interface RuntimeTimeouts {
  dbStatementTimeoutMs: number;
  dbIdleInTransactionTimeoutMs: number;
}

/**
 * Connection settings of the runtime's connections: the timeouts go in the startup packet of
 * every connection, since settings on the NOLOGIN group role never reach its members. A
 * statement that runs away, or a transaction left open by a stalled client, is ended by the
 * server and frees its locks. 0 leaves a timeout off.
 */
export function runtimeConnection(url: string, timeouts: RuntimeTimeouts, applicationName?: string): ClientConfig {
  return {
    connectionString: url,
    ...(applicationName ? { application_name: applicationName } : {}),
    statement_timeout: timeouts.dbStatementTimeoutMs || undefined,
    idle_in_transaction_session_timeout: timeouts.dbIdleInTransactionTimeoutMs || undefined,
  } as ClientConfig;
}
