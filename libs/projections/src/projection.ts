import type { Pool, PoolClient } from 'pg';
import { type LogRange, parsePosition } from '@app/event-store';

/**
 * A batch of the log: the range of positions it fills (LogRange). Every event in it is
 * committed, so a projection reads the range from es_events itself, only the columns it needs,
 * or writes from it in one statement without the rows ever leaving the database.
 */
export type Batch = LogRange;

/**
 * A read model kept from the event log. `apply` writes a batch inside the transaction that
 * also moves the checkpoint, set-based where it can.
 */
export interface Projection<Prepared = unknown> {
  readonly name: string;
  /** Its tables, emptied by a rebuild. */
  readonly tables: readonly string[];
  /** Its tables are evidence (the transparency log): never emptied, never rebuilt. */
  readonly evidence?: boolean;
  /**
   * Reads what `apply` needs of a batch, outside the transaction and on any connection; a
   * rebuild prepares the next batch while the database writes this one.
   */
  prepare?(db: Pool | PoolClient, batch: Batch): Promise<Prepared>;
  apply(tx: PoolClient, batch: Batch, prepared: Prepared): Promise<void>;
  /**
   * A fresh instance for one rebuild, which applies every batch of the log in order in one
   * transaction, into emptied tables nobody else writes meanwhile: it may keep memory across
   * batches. Without it, a rebuild applies the projection itself.
   */
  forRebuild?(): Projection;
}

/**
 * The condition that a row `e` of es_events lies in a batch, with the batch's rangeParams as
 * $1..$4. The BETWEEN is implied by the row comparisons; it lets the planner size the range
 * and walk the index.
 */
export const IN_BATCH_SQL = `(e.transaction_id, e.position) > ($1::xid8, $2::bigint)
  AND (e.transaction_id, e.position) <= ($3::xid8, $4::bigint)
  AND e.transaction_id BETWEEN $1::xid8 AND $3::xid8`;

/** The range parameters ($1..$4) of a batch for SQL over its events (IN_BATCH_SQL). */
export function rangeParams(batch: Batch): string[] {
  const after = parsePosition(batch.after);
  const through = parsePosition(batch.through);
  return [after.transactionId, after.position, through.transactionId, through.position];
}
