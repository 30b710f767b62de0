import {
  abusiveThread,
  assistant,
  cleared,
  ended,
  flagged,
  reviewed,
  stateOf,
  user,
} from '../test/conversation-fixtures';
import type { ConversationState } from './state';
import { fromSnapshot, snapshotPointAtOrBefore, toSnapshot } from './snapshot';
import { toThreadStatus } from './thread-status';

/** The state with every message's content emptied: what a snapshot keeps. */
const withoutContent = (state: ConversationState): ConversationState => ({
  ...state,
  messages: Object.fromEntries(Object.entries(state.messages).map(([id, m]) => [id, { ...m, content: '' }])),
});

describe('conversation snapshots', () => {
  describe('given a branched, ended, reviewed and flagged conversation', () => {
    const state = stateOf(
      ...abusiveThread(),
      ended('u4'),
      reviewed('evt-11', 'upheld', 'r1'),
      user('u3b', 'a2'),
      assistant('a3b', 'u3b'),
      user('root2', null),
      flagged('f1'),
      flagged('f2'),
      cleared('f1'),
    );

    it('gives back the state without message content', () => {
      expect(fromSnapshot(toSnapshot(state))).toEqual(withoutContent(state));
    });

    it('survives JSON, as it is stored', () => {
      const stored = JSON.parse(JSON.stringify(toSnapshot(state)));
      expect(fromSnapshot(stored)).toEqual(withoutContent(state));
      expect(toThreadStatus(fromSnapshot(stored))).toEqual(toThreadStatus(state));
    });

    it('keeps no content and no list the message order already gives', () => {
      const json = JSON.stringify(toSnapshot(state));
      expect(json).not.toContain('says');
      expect(json).not.toContain('childIds');
      expect(json.length).toBeLessThan((JSON.stringify(withoutContent(state)).length * 2) / 3);
    });
  });

  it('takes a state before any event', () => {
    const empty = stateOf();
    expect(fromSnapshot(toSnapshot(empty))).toEqual(empty);
  });
});

describe(snapshotPointAtOrBefore.name, () => {
  it('is a multiple of every below 16 × every, then of a spacing that doubles with the stream', () => {
    const at = (v: number) => snapshotPointAtOrBefore(v, 100);
    expect([0, 99, 100, 199, 799, 800, 999, 1_599, 1_600, 1_799, 3_200, 3_599, 10_000, 10_799].map(at)).toEqual([
      0, 0, 100, 100, 700, 800, 900, 1_500, 1_600, 1_600, 3_200, 3_200, 9_600, 10_400,
    ]);
  });

  it.each([1, 5, 100])(
    'with every = %i: at or before the version, a point, none after it, at most an eighth of the stream behind',
    (every) => {
      const wrong: string[] = [];
      let previous = 0;
      for (let v = 0; v <= 40_000; v++) {
        const p = snapshotPointAtOrBefore(v, every);
        // monotone, and it moves only onto the version itself: nothing between two points is one
        const moved = p === previous || p === v;
        if (p > v || snapshotPointAtOrBefore(p, every) !== p || !moved || v - p >= Math.max(every, v / 8))
          wrong.push(`${v} → ${p}`);
        previous = p;
      }
      expect(wrong).toEqual([]);
    },
  );
});
