import type { NewEvent } from '@app/event-store';
import { assertRoom } from './stream-limits';

const MB = 1024 * 1024;
/** An event whose serialisation fails the test: it proves the byte pass was skipped. */
const unread = { data: { toJSON: () => { throw new Error('serialised'); } }, metadata: {} };
const event = (content: string): NewEvent => ({ eventId: 'e', type: 'MessageAppended', data: { content }, metadata: {}, occurredAt: '2025-01-01T00:00:00.000Z' });

describe(assertRoom.name, () => {
  describe('when the stream is too short to reach its byte limit', () => {
    it('does not measure the stream at all', () => {
      expect(() => assertRoom([unread, unread], [event('x')], { maxEvents: 100, maxBytes: 200 * MB }, 'c')).not.toThrow();
    });
  });

  describe('when it could reach it', () => {
    it('measures every event and refuses past the limit with 422 CONVERSATION_TOO_LARGE', () => {
      const stored = [event('a'.repeat(600_000)), event('b'.repeat(600_000))];
      expect(() => assertRoom(stored, [event('c'.repeat(10))], { maxEvents: 100, maxBytes: 2 * MB }, 'c')).not.toThrow();
      expect(() => assertRoom(stored, [event('c'.repeat(900_000))], { maxEvents: 100, maxBytes: 2 * MB }, 'c')).toThrow(
        expect.objectContaining({ code: 'CONVERSATION_TOO_LARGE' }),
      );
      expect(() => assertRoom([unread], [event('x')], { maxEvents: 100, maxBytes: 2 * MB }, 'c')).toThrow('serialised');
    });
  });

  it('refuses past the event limit without measuring bytes', () => {
    expect(() => assertRoom([unread, unread], [event('x')], { maxEvents: 2, maxBytes: 200 * MB }, 'c')).toThrow(
      expect.objectContaining({ code: 'CONVERSATION_TOO_LARGE' }),
    );
  });
});
