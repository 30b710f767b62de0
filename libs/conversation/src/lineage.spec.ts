import { ended, started, stateOf, user } from '../test/conversation-fixtures';
import { endOfLineage } from './lineage';

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
