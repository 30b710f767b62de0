import { DatabaseError, type ClientBase } from 'pg';
import { AppendResultRow, encodeAppend, toAppendResult } from './append-request';
import { IdempotencyKeyReused, VersionConflict } from './errors';
import { formatPosition } from './position';
import { AppendOptions, AppendResult, NewEvent } from './types';

/**
 * Appends on the caller's connection, inside the caller's open transaction: the events commit
 * or roll back together with whatever else the transaction writes (an API key's row and its
 * ApiKeyCreated event, say). Same function, checks and hash chain as a lone append of the store;
 * a refused append aborts the transaction, which the caller then rolls back. A VersionConflict
 * at the version the caller expected means that a transaction younger than the caller's wrote the
 * stream's head (1764402800000-StreamOrderGuard): the caller's next transaction will do.
 */
export async function appendInTransaction(
  client: ClientBase,
  streamId: string,
  events: NewEvent[],
  options: AppendOptions,
): Promise<AppendResult> {
  const r = encodeAppend(streamId, events, options);
  const idem = r.idempotency;
  try {
    const { rows } = await client.query<{ r: AppendResultRow & { replayed: boolean } }>(
      'SELECT es_append_bodies($1, $2, $3, $4, $5, $6, $7) AS r',
      [r.streamId, r.expected, r.eventIds, r.bodies, idem?.scope ?? null, idem?.key ?? null, idem?.requestHash ?? null],
    );
    const { replayed, ...result } = rows[0].r;
    if (replayed) return toAppendResult(result, true);
    return {
      streamId,
      firstVersion: result.firstVersion,
      lastVersion: result.firstVersion + events.length - 1,
      position: formatPosition({ transactionId: result.transactionId, position: String(result.lastPosition) }),
      eventIds: r.eventIds,
      replayed: false,
    };
  } catch (err) {
    if (err instanceof DatabaseError && err.code === 'ES001')
      throw new VersionConflict(streamId, String(options.expectedVersion), Number(err.detail));
    if (err instanceof DatabaseError && err.code === 'ES002') throw new IdempotencyKeyReused(idem?.key ?? '');
    throw err;
  }
}
