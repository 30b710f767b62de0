import { createHash, randomUUID } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import {
  appendInTransaction,
  type IdempotencyOptions,
  IdempotencyKeyReused,
  type NewEvent,
  newEventId,
} from '@app/event-store';
import { assertNoHold, conversationsOfSubject, eraseConversationInTransaction, lockSubject } from './erasure';

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

/** A hold as listed (newest first). */
export interface HoldItem {
  holdId: string;
  reason: string;
  placedAt: string;
  placedBy: string;
  releasedAt?: string;
  releasedBy?: string;
}

export interface HoldPlaced {
  holdId: string;
  placedAt: string;
  /** The first answer under this Idempotency-Key, given again (nothing appended). */
  replayed: boolean;
}

export interface SubjectErasure {
  erasureId: string;
  conversations: number;
  erasedAt: string;
  plaintextEventsNotErasable: number;
  replayed: boolean;
}

/** No hold of that id for this tenant and subject (404 NOT_FOUND over HTTP). */
export class UnknownHold extends Error {
  constructor(readonly holdId: string) {
    super(`hold ${holdId} was not found for this subject`);
  }
}

/** The hold was released already (409 HOLD_ALREADY_RELEASED over HTTP). */
export class HoldAlreadyReleased extends Error {
  constructor(
    readonly holdId: string,
    readonly releasedAt: Date,
  ) {
    super(`hold ${holdId} was released at ${releasedAt.toISOString()}`);
  }
}

const metadataOf = (subject: SubjectRef, by: SubjectCaller) => ({
  actor: { type: 'operator', id: by.keyId },
  tenantId: subject.tenantId,
  apiKeyId: by.keyId,
  ...(by.holder ? { apiKeyHolder: by.holder } : {}),
  ...(by.idempotency ? { commandId: by.idempotency.key } : {}),
});

function subjectEvent(type: string, data: object, subject: SubjectRef, by: SubjectCaller, at: Date): NewEvent {
  return {
    eventId: newEventId(),
    type,
    data: data as Record<string, unknown>,
    metadata: metadataOf(subject, by),
    occurredAt: at.toISOString(),
  };
}

/** Runs `work` in one transaction on its own connection: all of it commits, or none. */
async function inTransaction<T>(pool: Pool, work: (client: ClientBase) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The database's time in this transaction: every row and event of one decision carries it. */
async function transactionTime(client: ClientBase): Promise<Date> {
  const { rows } = await client.query<{ now: Date }>('SELECT now() AS now');
  return rows[0].now;
}

/**
 * The event an earlier request under the same Idempotency-Key recorded (its last event), or
 * null when the key is free; IdempotencyKeyReused when that request was another. Read under the
 * subject's lock, so a retry waits for the first attempt and then finds it.
 */
async function earlierAnswer(
  client: ClientBase,
  idempotency: IdempotencyOptions | undefined,
): Promise<{ type: string; data: Record<string, unknown>; occurredAt: Date } | null> {
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

function replayOf<T extends string>(
  earlier: { type: string } | null,
  type: T,
  idempotency: IdempotencyOptions | undefined,
): boolean {
  if (!earlier) return false;
  if (earlier.type !== type) throw new IdempotencyKeyReused(idempotency?.key ?? '');
  return true;
}

/** Places a legal hold: its row and its LegalHoldPlaced event commit together, under the subject's lock. */
export async function placeLegalHold(
  pool: Pool,
  subject: SubjectRef,
  reason: string,
  by: SubjectCaller,
): Promise<HoldPlaced> {
  return inTransaction(pool, async (client) => {
    await lockSubject(client, subject.tenantId, subject.subjectId);
    const earlier = await earlierAnswer(client, by.idempotency);
    if (replayOf(earlier, 'LegalHoldPlaced', by.idempotency)) {
      return { holdId: String(earlier!.data.holdId), placedAt: earlier!.occurredAt.toISOString(), replayed: true };
    }
    const holdId = randomUUID();
    const at = await transactionTime(client);
    await client.query(
      `INSERT INTO subject_holds (hold_id, tenant_id, subject_id, reason, placed_at, placed_by)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [holdId, subject.tenantId, subject.subjectId, reason, at, by.keyId],
    );
    const data: LegalHoldPlacedData = { holdId, tenantId: subject.tenantId, subjectId: subject.subjectId, reason };
    await appendInTransaction(
      client,
      subjectStreamId(subject.tenantId, subject.subjectId),
      [subjectEvent('LegalHoldPlaced', data, subject, by, at)],
      { expectedVersion: 'any', idempotency: by.idempotency },
    );
    return { holdId, placedAt: at.toISOString(), replayed: false };
  });
}

/**
 * Releases a hold of this tenant and subject (UnknownHold for any other, HoldAlreadyReleased
 * once released): the row and its LegalHoldReleased event commit together.
 */
export async function releaseLegalHold(
  pool: Pool,
  subject: SubjectRef,
  holdId: string,
  by: SubjectCaller,
): Promise<{ releasedAt: string }> {
  const id = holdId.toLowerCase();
  return inTransaction(pool, async (client) => {
    await lockSubject(client, subject.tenantId, subject.subjectId);
    const { rows } = await client.query<{ released_at: Date | null }>(
      `SELECT released_at FROM subject_holds WHERE hold_id = $1 AND tenant_id = $2 AND subject_id = $3 FOR UPDATE`,
      [id, subject.tenantId, subject.subjectId],
    );
    if (!rows[0]) throw new UnknownHold(id);
    if (rows[0].released_at) throw new HoldAlreadyReleased(id, rows[0].released_at);
    const at = await transactionTime(client);
    await client.query(`UPDATE subject_holds SET released_at = $2, released_by = $3 WHERE hold_id = $1`, [
      id,
      at,
      by.keyId,
    ]);
    const data: LegalHoldReleasedData = { holdId: id, tenantId: subject.tenantId, subjectId: subject.subjectId };
    await appendInTransaction(
      client,
      subjectStreamId(subject.tenantId, subject.subjectId),
      [subjectEvent('LegalHoldReleased', data, subject, by, at)],
      { expectedVersion: 'any' },
    );
    return { releasedAt: at.toISOString() };
  });
}

/** The subject's holds, open and released, newest first. */
export async function listLegalHolds(q: Pick<Pool, 'query'>, subject: SubjectRef, limit = 1000): Promise<HoldItem[]> {
  const { rows } = await q.query<{
    hold_id: string;
    reason: string;
    placed_at: Date;
    placed_by: string;
    released_at: Date | null;
    released_by: string | null;
  }>(
    `SELECT hold_id, reason, placed_at, placed_by, released_at, released_by FROM subject_holds
      WHERE tenant_id = $1 AND subject_id = $2 ORDER BY placed_at DESC, hold_id DESC LIMIT $3`,
    [subject.tenantId, subject.subjectId, limit],
  );
  return rows.map((r) => ({
    holdId: r.hold_id,
    reason: r.reason,
    placedAt: r.placed_at.toISOString(),
    placedBy: r.placed_by,
    ...(r.released_at ? { releasedAt: r.released_at.toISOString() } : {}),
    ...(r.released_by ? { releasedBy: r.released_by } : {}),
  }));
}

/**
 * Erases a subject's content in one transaction, under its lock: refused while a legal hold is
 * open (LegalHoldOpen); else each conversation the subject started in the tenant loses its live
 * content key and gets a ContentErased event, and the subject's stream a SubjectErased event.
 * The keys are destroyed (committed, every process told) when this returns.
 */
export async function eraseSubject(
  pool: Pool,
  subject: SubjectRef,
  reason: string,
  by: SubjectCaller,
): Promise<SubjectErasure> {
  return inTransaction(pool, async (client) => {
    await lockSubject(client, subject.tenantId, subject.subjectId);
    const earlier = await earlierAnswer(client, by.idempotency);
    if (replayOf(earlier, 'SubjectErased', by.idempotency)) {
      const data = earlier!.data as unknown as SubjectErasedData;
      return {
        erasureId: data.erasureId,
        conversations: data.conversations,
        erasedAt: earlier!.occurredAt.toISOString(),
        plaintextEventsNotErasable: data.plaintextEventsNotErasable,
        replayed: true,
      };
    }
    await assertNoHold(client, subject.tenantId, subject.subjectId);
    const at = await transactionTime(client);
    const erasureId = randomUUID();
    const order = {
      erasureId,
      scope: 'subject' as const,
      reason,
      actor: { type: 'operator' as const, id: by.keyId },
      tenantId: subject.tenantId,
    };
    const conversations = await conversationsOfSubject(client, subject.tenantId, subject.subjectId);
    let plaintext = 0;
    for (const conversationId of conversations) {
      plaintext += (await eraseConversationInTransaction(client, conversationId, order, at)).plaintextFields;
    }
    const data: SubjectErasedData = {
      erasureId,
      tenantId: subject.tenantId,
      subjectId: subject.subjectId,
      reason,
      conversations: conversations.length,
      plaintextEventsNotErasable: plaintext,
    };
    await appendInTransaction(
      client,
      subjectStreamId(subject.tenantId, subject.subjectId),
      [subjectEvent('SubjectErased', data, subject, by, at)],
      { expectedVersion: 'any', idempotency: by.idempotency },
    );
    return {
      erasureId,
      conversations: conversations.length,
      erasedAt: at.toISOString(),
      plaintextEventsNotErasable: plaintext,
      replayed: false,
    };
  });
}
