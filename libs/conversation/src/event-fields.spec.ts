import { fieldOf } from './event-fields';

// The type checks here run in `npm run typecheck`: each @ts-expect-error fails the build when
// the line below it compiles, i.e. when a name that does not exist is taken for a field.
describe(fieldOf.name, () => {
  it('returns the field name it was given, for the event type that has it', () => {
    expect(fieldOf('ConversationEnded', 'reasonCode')).toBe('reasonCode');
    expect(fieldOf('EndAttemptBlocked', 'proposedReasonCode')).toBe('proposedReasonCode');
  });

  it('takes no field that the event type does not have (a compile error)', () => {
    // @ts-expect-error ConversationEnded has reasonCode, not reason
    expect(fieldOf('ConversationEnded', 'reason')).toBe('reason');
    // @ts-expect-error proposedReasonCode is EndAttemptBlocked's, not ConversationEnded's
    expect(fieldOf('ConversationEnded', 'proposedReasonCode')).toBe('proposedReasonCode');
  });
});
