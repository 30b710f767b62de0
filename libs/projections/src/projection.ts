import type { PoolClient } from 'pg';
import type { StoredEvent } from '@app/event-store';

/**
 * A read model kept from the event log. `apply` receives a batch in commit order inside the
 * transaction that also moves the checkpoint, and writes set-based where it can.
 */
export interface Projection {
  readonly name: string;
  /** Its tables, emptied by a rebuild. */
  readonly tables: readonly string[];
  apply(tx: PoolClient, events: StoredEvent[]): Promise<void>;
}

/** Runs `sql` once with the rows as a jsonb array: set-based writes from a batch. */
export async function withRows(tx: PoolClient, sql: string, rows: object[]): Promise<void> {
  if (rows.length > 0) await tx.query(sql, [JSON.stringify(rows)]);
}
