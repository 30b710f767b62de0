import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { appendInTransaction } from '@app/event-store';
import { lockSubject } from './erasure';
import {
  earlierAnswer,
  inTransaction,
  isReplay,
  type LegalHoldPlacedData,
  type LegalHoldReleasedData,
  type SubjectCaller,
  subjectEvent,
  type SubjectRef,
  subjectStreamId,
  transactionTime,
} from './subject-stream';

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
    if (isReplay(earlier, 'LegalHoldPlaced', by.idempotency)) {
      return { holdId: String(earlier.data.holdId), placedAt: earlier.occurredAt.toISOString(), replayed: true };
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
