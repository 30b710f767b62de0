import { conversationIdOf, streamIdOf } from './stream-id';

describe('conversation stream ids', () => {
  const id = '0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

  it('names a conversation stream and reads its id back', () => {
    expect(streamIdOf(id)).toBe(`conversation-${id}`);
    expect(conversationIdOf(streamIdOf(id))).toBe(id);
  });

  it('treats a mixed-case stream as foreign, never as the lower-case conversation', () => {
    expect(conversationIdOf(`conversation-${id.toUpperCase()}`)).toBeNull();
  });

  it('treats other streams as foreign', () => {
    expect(conversationIdOf(`apikey-${id}`)).toBeNull();
    expect(conversationIdOf('conversation-not-a-uuid')).toBeNull();
    expect(conversationIdOf(`conversation-${id} `)).toBeNull();
  });
});
