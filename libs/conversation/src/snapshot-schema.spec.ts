import { createHash } from 'node:crypto';
import {
  abusiveThread,
  assistant,
  blocked,
  ended,
  endRequested,
  flagged,
  reviewed,
  stateOf,
  user,
  warned,
} from '../test/conversation-fixtures';
import type { DomainEvent } from './events';
import { CONVERSATION_SNAPSHOT_SCHEMA, toSnapshot } from './snapshot';

/**
 * The fingerprint of each snapshot schema version: a digest of the snapshot's shape (keys and
 * value types, nested). A new version adds its line; a recorded line never changes.
 */
const RECORDED: Record<number, string> = {
  1: '9102f2d6c96fec8c',
  2: 'd518fb8d616e6869',
};

/** The state's maps keyed by ids: their keys are data, not shape. */
const ID_MAPS = new Set(['openRiskFlags', 'clearedRiskFlags']);

const union = (shapes: string[]) => [...new Set(shapes)].sort().join('|');

/** Keys and types, nested; lists as the set of their elements' shapes; tuples by position. */
function shapeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `(${value.map(shapeOf).join(',')})`;
    return `[${union(value.map(shapeOf))}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    const shapeAt = (k: string, v: unknown) =>
      ID_MAPS.has(k) ? `{*:${union(Object.values(v as object).map(shapeOf))}}` : shapeOf(v);
    return `{${entries.map(([k, v]) => `${k}:${shapeAt(k, v)}`).join(',')}}`;
  }
  return typeof value;
}

/** Every optional field of the state set at least once (channel, fork, notes, scores, reviews …). */
const everything: DomainEvent[] = [
  ...abusiveThread().map((e) =>
    e.type === 'ConversationStarted'
      ? { ...e, data: { ...e.data, channel: 'web', forkedFrom: { conversationId: 'conv-0', messageId: 'm-0' } } }
      : e,
  ),
  warned('a3'),
  endRequested('u4'),
  ended('u4', { explanation: 'abusive after two redirections', evidenceMessageIds: ['u4'] }),
  reviewed('evt-13', 'reclassified', 'r1', {
    newReasonCode: 'VIOLENT_EXTREMISM',
    errorType: 'wrong_reason',
    note: 'n',
  }),
  blocked(['INSUFFICIENT_REDIRECTION']),
  user('u3b', 'a2'),
  assistant('a3b', 'u3b'),
  flagged('f1'),
  flagged('f2'),
  { type: 'SafetyRiskCleared', data: { flagId: 'f1', note: 'reviewed by staff' } },
  { type: 'FeedbackSubmitted', data: { rating: 'up', messageId: 'a3b', comment: 'ok' } },
  {
    type: 'ContentErased',
    data: {
      erasureId: 'er-1',
      scope: 'subject',
      reason: 'data subject request',
      actor: { type: 'operator', id: 'admin' },
      keyIds: ['k-1'],
      plaintextFields: 0,
    },
  },
];

describe('the conversation snapshot schema', () => {
  const shape = shapeOf(JSON.parse(JSON.stringify(toSnapshot(stateOf(...everything)))));
  const fingerprint = createHash('sha256').update(shape).digest('hex').slice(0, 16);

  it('has the shape recorded for its version: a changed shape needs CONVERSATION_SNAPSHOT_SCHEMA bumped', () => {
    // On failure: bump CONVERSATION_SNAPSHOT_SCHEMA in snapshot.ts and record the new fingerprint
    // under the new version (`shape` below says what changed).
    expect({ version: CONVERSATION_SNAPSHOT_SCHEMA, fingerprint, shape }).toEqual({
      version: CONVERSATION_SNAPSHOT_SCHEMA,
      fingerprint: RECORDED[CONVERSATION_SNAPSHOT_SCHEMA],
      shape,
    });
  });

  it('sets every optional field in its fixture, so that the shape covers them', () => {
    for (const field of [
      'channel',
      'forkedFrom',
      'explanation',
      'reclassifiedAs',
      'newReasonCode',
      'errorType',
      'note',
      'score',
      'clearedAt',
    ]) {
      expect(shape).toContain(`${field}:`);
    }
  });
});
