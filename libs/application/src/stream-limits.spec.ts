import type { ConversationCommand } from '@app/conversation';
import type { CommandContext } from './command-context';
import { ConversationTooLarge } from './errors';
import fc from 'fast-check';
import { InvalidEvent } from '@app/event-store';
import { assertRoom, bytesOf, isBoundedBySize, newEventBytes } from './stream-limits';

const limits = { maxEvents: 10, maxBytes: 1000 };

describe(assertRoom.name, () => {
  it('takes what fits exactly', () => {
    expect(() => assertRoom({ events: 9, bytes: 900 }, { events: 1, bytes: 100 }, limits, 'c')).not.toThrow();
  });

  it('refuses past the event limit, and past the byte limit, with the limits', () => {
    expect(() => assertRoom({ events: 10, bytes: 0 }, { events: 1, bytes: 1 }, limits, 'c')).toThrow(
      expect.objectContaining({
        code: 'CONVERSATION_TOO_LARGE',
        limits,
        message: expect.stringContaining('10 events'),
      }),
    );
    expect(() => assertRoom({ events: 1, bytes: 999 }, { events: 1, bytes: 2 }, limits, 'c')).toThrow(
      ConversationTooLarge,
    );
  });
});

describe(bytesOf.name, () => {
  it('counts data and metadata as UTF-8 JSON', () => {
    expect(bytesOf({ data: { content: 'é' }, metadata: {} })).toBe('{"content":"é"}'.length + 1 + 2);
  });
});

describe(newEventBytes.name, () => {
  // what jsonb keeps: no NUL, no lone surrogate (both refused, below)
  const text = fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\n', '"', '\\', '\u2028', '\u007f') });
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      text,
      fc.array(tie('v')),
      fc.dictionary(
        text.filter((k) => k !== 'toJSON'),
        tie('v'),
      ),
    ),
  })).v;

  it('given any data and metadata, when measured from the canonical JSON its append writes, then it is bytesOf', () => {
    fc.assert(
      fc.property(fc.dictionary(text, value), fc.dictionary(text, value), (data, metadata) => {
        const e = { data, metadata };
        expect(newEventBytes(e)).toBe(bytesOf(e));
      }),
      { numRuns: 1_000 },
    );
  });

  it('given text the store cannot keep, when measured, then it is refused as the store refuses it', () => {
    expect(() => newEventBytes({ data: { content: 'a\u0000b' }, metadata: {} })).toThrow(InvalidEvent);
    expect(() => newEventBytes({ data: { content: '\ud800' }, metadata: {} })).toThrow(InvalidEvent);
    expect(() => newEventBytes({ data: 'text', metadata: {} })).toThrow(/data must be a JSON object/);
  });
});

describe(isBoundedBySize.name, () => {
  const context = (origin: 'caller' | 'service'): CommandContext => ({
    principal: { keyId: 'k', role: 'writer', tenantId: 't', holder: null },
    origin,
    correlationId: 'c',
  });
  const feedback: ConversationCommand = { type: 'SubmitFeedback', data: { rating: 'up' } };
  const review: ConversationCommand = {
    type: 'ReviewEndDecision',
    data: { reviewId: 'r', reviewerId: 'k', endEventId: 'e', outcome: 'upheld' },
  };

  it("bounds callers' commands, never staff oversight nor the service's own events", () => {
    expect(isBoundedBySize(feedback, context('caller'))).toBe(true);
    expect(isBoundedBySize(review, context('caller'))).toBe(false);
    expect(isBoundedBySize(feedback, context('service'))).toBe(false);
  });
});
