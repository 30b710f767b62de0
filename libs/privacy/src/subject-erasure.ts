import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import { backoffMs, type RetryPolicy } from '@app/platform';
import { appendInTransaction, VersionConflict } from '@app/event-store';
import {
  assertNoHold,
  conversationsOfSubject,
  eraseConversationInTransaction,
  lockSubject,
  subjectsInOtherLetterCases,
} from './erasure';
import {
  earlierAnswer,
  inTransaction,
  isReplay,
  type SubjectCaller,
  type SubjectErasedData,
  subjectEvent,
  type SubjectRef,
  subjectStreamId,
  transactionTime,
} from './subject-stream';

export interface SubjectErasure {
  erasureId: string;
  conversations: number;
  erasedAt: string;
  plaintextEventsNotErasable: number;
  /** The content keys destroyed (none for a replay): the caller's own cache forgets them at once. */
  keyIds: string[];
  replayed: boolean;
  /**
   * When no conversation was erased: subject ids of the tenant equal to this one but for letter
   * case (other subjects: ids are case-sensitive), at most 10; empty otherwise.
   */
  otherLetterCases: string[];
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
  // A message committed to one of the conversations while the erasure ran rolls it back (see
  // eraseConversationInTransaction; the stream-order guard refuses the erasure's append to a
  // conversation a younger transaction wrote): erased again, that message included, after a
  // jittered wait that lets a burst of messages pass, a few times at most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await eraseSubjectOnce(pool, subject, reason, by);
    } catch (err) {
      if (!(err instanceof VersionConflict) || attempt >= ERASE_RETRY.attempts) throw err;
      await sleep(backoffMs(attempt, ERASE_RETRY));
    }
  }
}

/** Tries of an erasure before 409 VERSION_CONFLICT, with waits of 25-50, 50-100, … 200-400 ms between. */
const ERASE_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 50, maxDelayMs: 400, random: Math.random };

async function eraseSubjectOnce(
  pool: Pool,
  subject: SubjectRef,
  reason: string,
  by: SubjectCaller,
): Promise<SubjectErasure> {
  return inTransaction(pool, async (client) => {
    await lockSubject(client, subject.tenantId, subject.subjectId);
    const earlier = await earlierAnswer(client, by.idempotency);
    if (isReplay(earlier, 'SubjectErased', by.idempotency)) {
      const data = earlier.data as unknown as SubjectErasedData;
      return {
        erasureId: data.erasureId,
        conversations: data.conversations,
        erasedAt: earlier.occurredAt.toISOString(),
        plaintextEventsNotErasable: data.plaintextEventsNotErasable,
        keyIds: [],
        replayed: true,
        otherLetterCases: data.conversations
          ? []
          : await subjectsInOtherLetterCases(client, subject.tenantId, subject.subjectId),
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
    const keyIds: string[] = [];
    for (const conversationId of conversations) {
      const erased = await eraseConversationInTransaction(client, conversationId, order, at);
      plaintext += erased.plaintextFields;
      keyIds.push(...erased.keyIds);
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
      keyIds,
      replayed: false,
      otherLetterCases: conversations.length
        ? []
        : await subjectsInOtherLetterCases(client, subject.tenantId, subject.subjectId),
    };
  });
}
