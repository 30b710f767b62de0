import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import {
  allMessages,
  foldEvents,
  type MessageView,
  type RecordedConversationEvent,
  streamIdOf,
  type ThreadStatus,
  toThreadStatus,
} from '@app/conversation';
import { EVENT_COLUMNS, type EventRow, toStoredEvent } from '@app/event-store';
import type { ContentKeys } from './content-keys';
import { conversationsOfSubject } from './erasure';
import { kidsOf, openData } from './sealing';
import type { SubjectRef } from './subject-stream';

/** A message as the subject access export shows it: its text, or null once erased. */
export type ExportedMessage = MessageView & ContentMark;

/** Why a text reads null: its key is destroyed (erased), or it does not decrypt (tampered; never shown as erased). */
export interface ContentMark {
  contentErased?: true;
  contentUnreadable?: true;
}

/** An end with its explanation (null once erased). */
export interface ExportedEnd {
  endEventId: string;
  reasonCode: string;
  initiator: string;
  endedAt: string;
  endedAtMessageId: string;
  explanation?: string | null;
  policyVersion: number;
  reviewOutcome: string | null;
  contentErased?: true;
  contentUnreadable?: true;
}

export interface SubjectConversationLine {
  type: 'conversation';
  conversationId: string;
  status: ThreadStatus;
  messages: ExportedMessage[];
  ends: ExportedEnd[];
  /**
   * The conversation's other events that carry free text (feedback comments, risk-flag notes,
   * review notes), in stream order, each opened like the messages: the event's type, id and time,
   * its data readable, and the erased/unreadable marks.
   */
  notes: ExportedNote[];
}

export type ExportedNote = {
  type: 'FeedbackSubmitted' | 'SafetyRiskCleared' | 'EndDecisionReviewed';
  eventId: string;
  occurredAt: string;
  data: Record<string, unknown>;
} & ContentMark;

const NOTE_TYPES = new Set<string>(['FeedbackSubmitted', 'SafetyRiskCleared', 'EndDecisionReviewed']);

export interface SubjectExportManifest {
  type: 'manifest';
  count: number;
  /** SHA-256 (hex) of every byte before the manifest line. */
  sha256: string;
  subjectId: string;
  tenantId: string;
}

/**
 * A data subject's conversations, read in one REPEATABLE READ snapshot: opened by `open`
 * (the conversations found, before any line is made: the caller records the read there, and may
 * refuse it by throwing), then one line per conversation and the manifest last.
 */
export interface SubjectExport {
  conversationIds: string[];
  lines: AsyncGenerator<string, void, undefined>;
  /** Ends the snapshot and gives its connection back (also when no line was read); idempotent. */
  close(): Promise<void>;
}

export async function openSubjectExport(pool: Pool, keys: ContentKeys, subject: SubjectRef): Promise<SubjectExport> {
  const client = await pool.connect();
  let closed = false;
  let started = false;
  const finish = async (ok = true) => {
    if (closed) return;
    closed = true;
    await client.query(ok ? 'COMMIT' : 'ROLLBACK').catch(() => undefined);
    client.release();
  };
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const conversationIds = await conversationsOfSubject(client, subject.tenantId, subject.subjectId);
    const lines = subjectLines(
      client,
      keys,
      subject,
      conversationIds,
      () => {
        started = true;
      },
      finish,
    );
    // Once the lines are read, they own the connection (a query may be under way): they release it.
    return { conversationIds, lines, close: () => (started ? Promise.resolve() : finish()) };
  } catch (err) {
    await finish(false);
    throw err;
  }
}

async function* subjectLines(
  client: PoolClient,
  keys: ContentKeys,
  subject: SubjectRef,
  conversationIds: string[],
  onStart: () => void,
  close: () => Promise<void>,
): AsyncGenerator<string, void, undefined> {
  onStart();
  try {
    const hash = createHash('sha256');
    for (const id of conversationIds) {
      const line = `${JSON.stringify(await conversationLine(client, keys, id))}\n`;
      hash.update(line, 'utf8');
      yield line;
    }
    const manifest: SubjectExportManifest = {
      type: 'manifest',
      count: conversationIds.length,
      sha256: hash.digest('hex'),
      subjectId: subject.subjectId,
      tenantId: subject.tenantId,
    };
    yield `${JSON.stringify(manifest)}\n`;
  } finally {
    await close();
  }
}

/** One conversation, its sealed fields opened (null where the key is destroyed), folded as the domain does. */
export async function conversationLine(
  client: Pick<PoolClient, 'query'>,
  keys: ContentKeys,
  conversationId: string,
): Promise<SubjectConversationLine> {
  const { rows } = await client.query<EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM es_events WHERE stream_id = $1 ORDER BY stream_version`,
    [streamIdOf(conversationId)],
  );
  const stored = rows.map(toStoredEvent);
  const found = await keys.lookupMany(stored.flatMap(kidsOf));
  const marks = new Map<string, ContentMark>();
  const events = stored.map((e): RecordedConversationEvent => {
    const { data, contentErased, unreadableFields } = openData(e, found);
    if (contentErased || unreadableFields.length > 0) {
      marks.set(e.eventId, {
        ...(contentErased && { contentErased: true as const }),
        ...(unreadableFields.length > 0 && { contentUnreadable: true as const }),
      });
    }
    const { type, eventId, version, occurredAt } = e;
    return { type, data, eventId, version, occurredAt } as RecordedConversationEvent;
  });
  const messageMarks = new Map<string, ContentMark>();
  for (const e of events) {
    const mark = marks.get(e.eventId);
    if (mark && e.type === 'MessageAppended') messageMarks.set(e.data.messageId, mark);
  }
  const state = foldEvents(events);
  return {
    type: 'conversation',
    conversationId: state.conversationId,
    status: toThreadStatus(state),
    messages: allMessages(state).map((m) => ({ ...m, ...messageMarks.get(m.messageId) })),
    ends: state.ends.map((end) => ({
      endEventId: end.endEventId,
      reasonCode: end.reasonCode,
      initiator: end.initiator,
      endedAt: end.endedAt,
      endedAtMessageId: end.endedAtMessageId,
      ...(end.explanation !== undefined ? { explanation: end.explanation } : {}),
      policyVersion: end.policyVersion,
      reviewOutcome: end.reviewOutcome,
      ...marks.get(end.endEventId),
    })),
    notes: events
      .filter((e) => NOTE_TYPES.has(e.type))
      .map((e) => ({
        type: e.type as ExportedNote['type'],
        eventId: e.eventId,
        occurredAt: e.occurredAt,
        data: e.data as unknown as Record<string, unknown>,
        ...marks.get(e.eventId),
      })),
  };
}
