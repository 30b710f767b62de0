import { abusiveThread, at, stateOf, user } from '../test/conversation-fixtures';
import { activeLineageMessages, allMessages, lineageMessages } from './message-views';

const state = stateOf(...abusiveThread(), user('u2b', 'a1'));

describe(lineageMessages.name, () => {
  it('returns the lineage through the leaf, root first', () => {
    expect(lineageMessages(state, 'u3').map((m) => m.messageId)).toEqual(['u1', 'a1', 'u2', 'a2', 'u3']);
  });

  it('leaves out the other branches', () => {
    expect(lineageMessages(state, 'u2b').map((m) => m.messageId)).toEqual(['u1', 'a1', 'u2b']);
  });

  it('shows each message as appended, timed by its event', () => {
    expect(lineageMessages(state, 'a1')[1]).toEqual({
      messageId: 'a1',
      parentMessageId: 'u1',
      role: 'assistant',
      content: 'assistant says a1',
      modelId: 'claude-opus-4-1',
      stopReason: 'end_turn',
      createdAt: at(3),
      version: 3,
    });
  });

  it('refuses an unknown message', () => {
    expect(() => lineageMessages(state, 'ghost')).toThrow(expect.objectContaining({ code: 'UNKNOWN_MESSAGE' }));
  });
});

describe(activeLineageMessages.name, () => {
  it('follows the newest message', () => {
    expect(activeLineageMessages(state).map((m) => m.messageId)).toEqual(['u1', 'a1', 'u2b']);
  });
});

describe(allMessages.name, () => {
  it('returns the whole tree in append order', () => {
    expect(allMessages(state).map((m) => m.messageId)).toEqual(['u1', 'a1', 'u2', 'a2', 'u3', 'a3', 'u4', 'u2b']);
  });
});
