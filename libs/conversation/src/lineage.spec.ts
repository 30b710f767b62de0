import { assistant, ended, redirected, started, stateOf, user } from '../test/conversation-fixtures';
import { endOfLineage, lineagePath, redirectionCountOnLineage } from './lineage';

describe(endOfLineage.name, () => {
  // u1 → u2 → u3 → u4, and u2 → v3 (a branch)
  const thread = [started(), user('u1', null), user('u2', 'u1'), user('u3', 'u2'), user('u4', 'u3'), user('v3', 'u2')];

  it('finds no end where there is none', () => {
    expect(endOfLineage(stateOf(...thread), 'u4')).toBeUndefined();
  });

  it('finds an end at the message or at an ancestor, none on a sibling branch or above it', () => {
    const state = stateOf(...thread, ended('u3'));
    expect(endOfLineage(state, 'u4')?.endedAtMessageId).toBe('u3');
    expect(endOfLineage(state, 'u3')?.endedAtMessageId).toBe('u3');
    expect(endOfLineage(state, 'v3')).toBeUndefined();
    expect(endOfLineage(state, 'u2')).toBeUndefined();
    expect(endOfLineage(state, 'unknown')).toBeUndefined();
  });

  it('names the first end recorded when several lie on the lineage', () => {
    const state = stateOf(...thread, ended('u4'), ended('u2'));
    expect(endOfLineage(state, 'u4')?.endedAtMessageId).toBe('u4');
    expect(endOfLineage(state, 'v3')?.endedAtMessageId).toBe('u2');
  });
});

describe(redirectionCountOnLineage.name, () => {
  // u1 → a1 → u2 → a2 → u3, and u2 → b2 (a branch)
  const thread = [
    started(),
    user('u1', null),
    assistant('a1', 'u1'),
    user('u2', 'a1'),
    assistant('a2', 'u2'),
    user('u3', 'a2'),
    assistant('b2', 'u2'),
  ];
  /** The count by its definition: distinct redirected messages on the path, built in full. */
  const byPath = (state: ReturnType<typeof stateOf>, id: string) => {
    const path = new Set(lineagePath(state, id));
    return new Set(state.redirections.filter((r) => path.has(r.messageId)).map((r) => r.messageId)).size;
  };

  it('is 0 without redirections, for known and unknown messages', () => {
    const state = stateOf(...thread);
    expect(['u3', 'b2', 'u1', 'unknown'].map((id) => redirectionCountOnLineage(state, id))).toEqual([0, 0, 0, 0]);
  });

  it('counts the redirected messages at or above the message, each once, none on a sibling branch', () => {
    const state = stateOf(...thread, redirected('a1'), redirected('a2'), redirected('a2'), redirected('b2'));
    const ids = ['u1', 'a1', 'u2', 'a2', 'u3', 'b2', 'unknown'];
    expect(ids.map((id) => redirectionCountOnLineage(state, id))).toEqual([0, 1, 1, 2, 2, 2, 0]);
    expect(ids.map((id) => redirectionCountOnLineage(state, id))).toEqual(ids.map((id) => byPath(state, id)));
  });
});
