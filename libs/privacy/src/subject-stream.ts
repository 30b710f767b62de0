import { createHash } from 'node:crypto';
import type { ClientBase, Pool, PoolClient } from 'pg';
import { type IdempotencyOptions, IdempotencyKeyReused, type NewEvent, newEventId } from '@app/event-store';

/**
 * A subject's administrative facts (legal holds placed and released, erasures) are events in a
 * stream of their own per tenant and subject: `subject-<32 hex of SHA-256(tenant NUL subject)>`.
 * The metadata names the tenant, so that tenant's auditors see them in the feed.
 */
export const SUBJECT_STREAM_PREFIX = 'subject-';

export function subjectStreamId(tenantId: string, subjectId: string): string {
  const digest = createHash('sha256').update(`${tenantId}\u0000${subjectId}`, 'utf8').digest('hex');
  return `${SUBJECT_STREAM_PREFIX}${digest.slice(0, 32)}`;
}

/** A subject: ids are per tenant. */
export interface SubjectRef {
  tenantId: string;
  subjectId: string;
}

/** Who acts (the API key) and, optionally, the request's Idempotency-Key. */
export interface SubjectCaller {
  keyId: string;
  holder?: string | null;
  idempotency?: IdempotencyOptions;
}

export interface LegalHoldPlacedData extends SubjectRef {
  holdId: string;
  reason: string;
}
export type LegalHoldReleasedData = SubjectRef & { holdId: string };
export interface SubjectErasedData extends SubjectRef {
  erasureId: string;
  reason: string;
  /** How many conversations of the subject were erased. */
  conversations: number;
  /** Events of those conversations holding text written before encryption: not erasable by key destruction. */
  plaintextEventsNotErasable: number;
}

const metadataOf = (subject: SubjectRef, by: SubjectCaller) => ({
  actor: { type: 'operator', id: by.keyId },
  tenantId: subject.tenantId,
  apiKeyId: by.keyId,
  ...(by.holder ? { apiKeyHolder: by.holder } : {}),
  ...(by.idempotency ? { commandId: by.idempotency.key } : {}),
});

export function subjectEvent(type: string, data: object, subject: SubjectRef, by: SubjectCaller, at: Date): NewEvent {
  return {
    eventId: newEventId(),
    type,
    data: data as Record<string, unknown>,
    metadata: metadataOf(subject, by),
    occurredAt: at.toISOString(),
  };
}

/**
 * Runs `work` in one transaction on its own connection: all of it commits, or none. A connection
 * whose rollback fails ends its session rather than going back to the pool.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    broken = await client.query('ROLLBACK').then(
      () => undefined,
      (e: Error) => e,
    );
    throw err;
  } finally {
    client.release(broken);
  }
}

/** The database's time in this transaction: every row and event of one decision carries it. */
export async function transactionTime(client: ClientBase): Promise<Date> {
  const { rows } = await client.query<{ now: Date }>('SELECT now() AS now');
  return rows[0].now;
}

export interface EarlierAnswer {
  type: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

/**
 * The event an earlier request under the same Idempotency-Key recorded (its last event), or
 * null when the key is free; IdempotencyKeyReused when that request was another. Read under the
 * subject's lock, so a retry waits for the first attempt and then finds it.
 */
export async function earlierAnswer(
  client: ClientBase,
  idempotency: IdempotencyOptions | undefined,
): Promise<EarlierAnswer | null> {
  if (!idempotency) return null;
  const { rows } = await client.query<{ request_hash: string | null; result: { eventIds: string[] } | null }>(
    'SELECT request_hash, result FROM es_idempotent_result($1, $2)',
    [idempotency.scope, idempotency.key],
  );
  const found = rows[0];
  if (!found?.request_hash || !found.result) return null;
  if (found.request_hash !== idempotency.requestHash) throw new IdempotencyKeyReused(idempotency.key);
  const last = found.result.eventIds[found.result.eventIds.length - 1];
  const { rows: events } = await client.query<{ type: string; data: Record<string, unknown>; occurred_at: Date }>(
    'SELECT type, data, occurred_at FROM es_events WHERE event_id = $1',
    [last],
  );
  // The key was used by another route (a conversation command): the request hash covers the path.
  if (!events[0]) throw new IdempotencyKeyReused(idempotency.key);
  return { type: events[0].type, data: events[0].data, occurredAt: events[0].occurred_at };
}

/** Whether the earlier request under the key is this one's kind (else the key was used for another). */
export function isReplay(
  earlier: EarlierAnswer | null,
  type: string,
  idempotency?: IdempotencyOptions,
): earlier is EarlierAnswer {
  if (!earlier) return false;
  if (earlier.type !== type) throw new IdempotencyKeyReused(idempotency?.key ?? '');
  return true;
}
