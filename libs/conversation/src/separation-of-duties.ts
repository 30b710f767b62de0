import { ConversationError } from './errors';

/** Who recorded an event: the API key and, when the key names one, the person holding it. */
export interface Recorder {
  keyId: string | null;
  holder: string | null;
}

/** Holders compare as people's names do: case, width and surrounding spaces aside. */
const person = (holder: string | null): string | null => {
  const name = holder?.normalize('NFKC').trim().toLocaleLowerCase('en');
  return name ? name : null;
};

/**
 * Separation of duties (DOMAIN.md): nobody reviews an end they recorded. The same API key is a
 * self-review; so is another key held by the same person (a second key must not launder one's
 * own decision). Keys without a holder are told apart by key only.
 */
export function assertNotSelfReview(end: Recorder, reviewer: Recorder, endEventId: string): void {
  const sameKey = end.keyId !== null && end.keyId === reviewer.keyId;
  const endHolder = person(end.holder);
  const sameHolder = endHolder !== null && endHolder === person(reviewer.holder);
  if (sameKey || sameHolder) {
    throw new ConversationError(
      'SELF_REVIEW',
      sameKey
        ? `End ${endEventId} was recorded with this API key: another person must review it`
        : `End ${endEventId} was recorded by ${end.holder}, who holds this API key too: another person must review it`,
      { endEventId, by: sameKey ? 'key' : 'holder' },
    );
  }
}
