import type { ClientBase } from 'pg';
import { type ContentErased, type ErasureScope, streamIdOf } from '@app/conversation';
import { type AppendResult, appendInTransaction, newEventId } from '@app/event-store';
import { destroyContentKeys, type Queryable } from './content-keys';
import { SEALED_FIELDS } from './sealed-fields';

/** Who asked for an erasure and why (recorded; no content). */
export interface ErasureOrder {
  erasureId: string;
  scope: ErasureScope;
  reason: string;
  actor: ContentErased['data']['actor'];
  /** The tenant the conversations belong to (metadata of the ContentErased events). */
  tenantId: string;
}

/** An open legal hold. */
export interface OpenHold {
  holdId: string;
  reason: string;
  placedAt: Date;
  placedBy: string;
}

/** Erasure refused: the subject is under a legal hold (409 LEGAL_HOLD over HTTP). */
export class LegalHoldOpen extends Error {
  constructor(
    readonly tenantId: string,
    readonly subjectId: string,
    readonly holds: OpenHold[],
  ) {
    super(
      `subject ${subjectId} of tenant ${tenantId} is under legal hold ${holds.map((h) => h.holdId).join(', ')}: ` +
        'its content is kept until the hold is released',
    );
  }
}

/**
 * Serialises everything that decides about one subject's content (erasure, retention, placing
 * and releasing holds) for the rest of the caller's transaction: a hold placed while an erasure
 * runs either comes first (the erasure sees it) or after (the content is gone already).
 */
export async function lockSubject(client: Queryable, tenantId: string, subjectId: string): Promise<void> {
  // length-prefixed, so no (tenant, subject) pair spells another's text (PostgreSQL text holds no NUL)
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtextextended(length($1)::text || ':' || $1 || $2, 1764402000))`,
    [tenantId, subjectId],
  );
}

export async function openHolds(q: Queryable, tenantId: string, subjectId: string): Promise<OpenHold[]> {
  const { rows } = await q.query<OpenHold>(
    `SELECT hold_id AS "holdId", reason, placed_at AS "placedAt", placed_by AS "placedBy"
       FROM subject_holds WHERE tenant_id = $1 AND subject_id = $2 AND released_at IS NULL
      ORDER BY placed_at, hold_id`,
    [tenantId, subjectId],
  );
  return rows;
}

/** Throws LegalHoldOpen when the subject has an open hold (call under lockSubject). */
export async function assertNoHold(q: Queryable, tenantId: string, subjectId: string): Promise<void> {
  const holds = await openHolds(q, tenantId, subjectId);
  if (holds.length > 0) throw new LegalHoldOpen(tenantId, subjectId, holds);
}

/** Every conversation the subject started in the tenant, read from the log (never a projection's lag). */
export async function conversationsOfSubject(q: Queryable, tenantId: string, subjectId: string): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT data->>'conversationId' AS id FROM es_events
      WHERE type = 'ConversationStarted' AND metadata->>'tenantId' = $1 AND data->>'subjectId' = $2
      ORDER BY position`,
    [tenantId, subjectId],
  );
  return rows.map((r) => r.id);
}

/**
 * Subject ids of the tenant's conversations that equal `subjectId` but for letter case (ids are
 * case-sensitive: these are other subjects), at most `limit`, sorted: what an erasure that found no
 * conversation answers, so that an operator who mistyped the case sees it. One scan of the tenant's
 * ConversationStarted entries (es_events_subject), run only when the exact id found none.
 */
export async function subjectsInOtherLetterCases(
  q: Queryable,
  tenantId: string,
  subjectId: string,
  limit = 10,
): Promise<string[]> {
  const { rows } = await q.query<{ s: string }>(
    `SELECT DISTINCT data->>'subjectId' AS s FROM es_events
      WHERE type = 'ConversationStarted' AND metadata->>'tenantId' = $1
        AND lower(data->>'subjectId') = lower($2) AND data->>'subjectId' <> $2
      ORDER BY 1 LIMIT $3`,
    [tenantId, subjectId, limit],
  );
  return rows.map((r) => r.s);
}

/** SQL: how many sealed fields of a stream's events are stored as plain strings (written before encryption). */
const PLAINTEXT_FIELDS = `SELECT count(*)::int AS n FROM es_events WHERE stream_id = $1 AND (${Object.entries(
  SEALED_FIELDS,
)
  .flatMap(([type, fields]) =>
    (fields ?? []).map((f) => `(type = '${type}' AND jsonb_typeof(data->'${f}') = 'string')`),
  )
  .join(' OR ')})`;

export async function plaintextFieldCount(q: Queryable, conversationId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(PLAINTEXT_FIELDS, [streamIdOf(conversationId.toLowerCase())]);
  return rows[0]?.n ?? 0;
}

export interface ConversationErased {
  conversationId: string;
  keyIds: string[];
  plaintextFields: number;
  appended: AppendResult;
}

/**
 * Erases one conversation's content inside the caller's transaction: destroys its live content
 * key (every process forgets it at commit) and appends ContentErased to its stream. The caller
 * holds the subject's lock and has checked its holds. Anything appended to the stream later
 * is sealed under a new key.
 */
export async function eraseConversationInTransaction(
  client: ClientBase,
  conversationId: string,
  order: ErasureOrder,
  occurredAt: Date,
  /** The stream's version the caller judged it at (retention); else read here. Either way expected by the append. */
  { seenVersion }: { seenVersion?: number } = {},
): Promise<ConversationErased> {
  const id = conversationId.toLowerCase();
  // The stream as this erasure saw it: a message committed meanwhile (sealed under a key this
  // transaction destroys) makes the append below a VersionConflict, which rolls the erasure back;
  // the caller decides again (retention: no longer due; subject erasure: erase again, including it).
  const seen = seenVersion ?? (await streamVersion(client, streamIdOf(id)));
  const keyIds = await destroyContentKeys(client, [id], order.erasureId);
  const plaintextFields = await plaintextFieldCount(client, id);
  const data: ContentErased['data'] = {
    erasureId: order.erasureId,
    scope: order.scope,
    reason: order.reason,
    actor: order.actor,
    keyIds,
    plaintextFields,
  };
  const appended = await appendInTransaction(
    client,
    streamIdOf(id),
    [
      {
        eventId: newEventId(),
        type: 'ContentErased',
        data: data as unknown as Record<string, unknown>,
        metadata: { actor: order.actor, tenantId: order.tenantId, erasureId: order.erasureId },
        occurredAt: occurredAt.toISOString(),
      },
    ],
    { expectedVersion: seen === 0 ? 'no_stream' : seen },
  );
  return { conversationId: id, keyIds, plaintextFields, appended };
}

async function streamVersion(client: ClientBase, streamId: string): Promise<number> {
  const { rows } = await client.query<{ version: string }>('SELECT version FROM es_streams WHERE stream_id = $1', [
    streamId,
  ]);
  return rows[0] ? Number(rows[0].version) : 0;
}
