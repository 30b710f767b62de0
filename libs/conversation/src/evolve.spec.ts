import {
  T0,
  abusiveThread,
  at,
  cleared,
  ended,
  flagged,
  history,
  reviewed,
  stateOf,
  started,
  user,
} from '../test/conversation-fixtures';
import type { RecordedConversationEvent } from './events';
import { evolve, foldEvents } from './evolve';
import { initialState } from './state';

describe(evolve.name, () => {
  describe('when the conversation starts', () => {
    it('records who and what it is', () => {
      const state = stateOf(started());
      expect(state).toMatchObject({
        exists: true,
        conversationId: 'conv-1',
        tenantId: 'tenant-a',
        subjectId: 'subject-1',
        modelId: 'claude-opus-4-1',
        startedAt: T0,
        version: 1,
        lastEventAt: T0,
      });
    });
  });

  describe('when messages are appended', () => {
    const state = stateOf(started(), user('u1', null), user('a1', 'u1'), user('u2', 'a1'), user('u2b', 'a1'));

    it('links children to their parent in append order', () => {
      expect(state.messages['a1']?.childIds).toEqual(['u2', 'u2b']);
      expect(state.messages['u2b']).toMatchObject({ parentMessageId: 'a1', index: 3, version: 5, createdAt: at(5) });
    });

    it('makes the newest message the active leaf', () => {
      expect(state.activeLeafMessageId).toBe('u2b');
      expect(state.messageOrder).toEqual(['u1', 'a1', 'u2', 'u2b']);
      expect(state.rootMessageIds).toEqual(['u1']);
    });
  });

  describe('when an end is recorded and reviewed', () => {
    const events = [...abusiveThread(), ended('u4')];

    it('keeps the end with its event id and time, unreviewed', () => {
      expect(stateOf(...events).ends).toEqual([
        {
          ...ended('u4').data,
          endEventId: 'evt-11',
          endedAt: at(11),
          version: 11,
          reviewOutcome: null,
        },
      ]);
    });

    it('takes the review outcome from the latest review', () => {
      const state = stateOf(
        ...events,
        reviewed('evt-11', 'reclassified', 'r1', { newReasonCode: 'VIOLENT_EXTREMISM' }),
        reviewed('evt-11', 'overturned', 'r2'),
      );
      expect(state.ends[0]?.reviewOutcome).toBe('overturned');
      expect(state.ends[0]).not.toHaveProperty('reclassifiedAs');
      expect(state.reviews.map((r) => r.reviewId)).toEqual(['r1', 'r2']);
    });

    it('remembers the reason code of a reclassification', () => {
      const state = stateOf(
        ...events,
        reviewed('evt-11', 'reclassified', 'r1', { newReasonCode: 'VIOLENT_EXTREMISM' }),
      );
      expect(state.ends[0]).toMatchObject({ reviewOutcome: 'reclassified', reclassifiedAs: 'VIOLENT_EXTREMISM' });
    });
  });

  describe('when risk flags are raised and cleared', () => {
    it('keeps only uncleared flags open', () => {
      const state = stateOf(started(), flagged('f1'), flagged('f2', 'harm_to_others'), cleared('f1'));
      expect(Object.keys(state.openRiskFlags)).toEqual(['f2']);
      expect(state.clearedRiskFlags['f1']).toMatchObject({ kind: 'self_harm', clearedAt: at(4) });
    });
  });

  it('leaves the state it was given untouched', () => {
    const before = stateOf(started(), user('u1', null));
    const snapshot = structuredClone(before);
    const [next] = history(started(), user('u1', null), user('u2', 'u1')).slice(2);
    evolve(before, next as RecordedConversationEvent);
    expect(before).toEqual(snapshot);
  });

  it('refuses an event type it does not know', () => {
    const unknown = { type: 'ConversationArchived', data: {}, eventId: 'e', version: 1, occurredAt: T0 };
    expect(() => evolve(initialState(), unknown as never)).toThrow('ConversationArchived');
  });
});

describe(foldEvents.name, () => {
  it('rebuilds the state at any earlier version from a prefix of the stream', () => {
    const events = history(...abusiveThread(), ended('u4'));
    expect(foldEvents(events.slice(0, 10)).ends).toEqual([]);
    expect(foldEvents(events.slice(0, 10)).version).toBe(10);
    expect(foldEvents(events).ends).toHaveLength(1);
  });

  it('continues from a given state, the same as folding one event at a time, and leaves that state untouched', () => {
    const events = history(
      ...abusiveThread(),
      ended('u4'),
      reviewed('evt-11', 'upheld', 'r1'),
      flagged('f1'),
      cleared('f1'),
    );
    const before = foldEvents(events.slice(0, 4));
    const snapshot = structuredClone(before);
    const folded = foldEvents(events.slice(4), before);
    expect(before).toEqual(snapshot);
    expect(folded).toEqual(events.reduce(evolve, initialState()));
    expect(folded.messages['u1']?.childIds.length).toBeGreaterThan(0);
  });

  it('starts from the initial state', () => {
    expect(foldEvents([])).toEqual(initialState());
  });
});
