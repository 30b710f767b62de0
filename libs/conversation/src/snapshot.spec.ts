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
import { fromSnapshot, toSnapshot } from './snapshot';
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
