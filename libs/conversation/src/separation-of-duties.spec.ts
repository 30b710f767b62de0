import { ConversationError } from './errors';
import { assertNotSelfReview } from './separation-of-duties';

const refusal = (fn: () => void): ConversationError | undefined => {
  try {
    fn();
  } catch (err) {
    return err as ConversationError;
  }
  return undefined;
};

describe(assertNotSelfReview.name, () => {
  it('refuses a review with the API key that recorded the end', () => {
    const err = refusal(() =>
      assertNotSelfReview({ keyId: 'k-1', holder: null }, { keyId: 'k-1', holder: null }, 'end-1'),
    );
    expect([err?.code, err?.details]).toEqual(['SELF_REVIEW', { endEventId: 'end-1', by: 'key' }]);
  });

  it('refuses a review by the same holder on another key, whatever the case or spacing of the name', () => {
    const err = refusal(() =>
      assertNotSelfReview({ keyId: 'k-1', holder: 'Alice Smith' }, { keyId: 'k-2', holder: ' alice smith ' }, 'end-1'),
    );
    expect([err?.code, err?.details]).toEqual(['SELF_REVIEW', { endEventId: 'end-1', by: 'holder' }]);
  });

  it('accepts another holder, and keys without holders told apart by key', () => {
    expect(() =>
      assertNotSelfReview({ keyId: 'k-1', holder: 'Alice' }, { keyId: 'k-2', holder: 'Bob' }, 'e'),
    ).not.toThrow();
    expect(() =>
      assertNotSelfReview({ keyId: 'k-1', holder: null }, { keyId: 'k-2', holder: null }, 'e'),
    ).not.toThrow();
    expect(() =>
      assertNotSelfReview({ keyId: 'k-1', holder: null }, { keyId: 'k-2', holder: 'Alice' }, 'e'),
    ).not.toThrow();
  });

  it('accepts a review of an end recorded without a key (no key id to match)', () => {
    expect(() => assertNotSelfReview({ keyId: null, holder: null }, { keyId: 'k-2', holder: null }, 'e')).not.toThrow();
  });
});
