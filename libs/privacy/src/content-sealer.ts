import type { DataKey } from './content-cipher';
import type { ConversationOwner } from './content-keys';
import { needsSealing, sealData, type SealableEvent } from './sealing';

/** The keys a sealer needs: the conversation's live key, and forgetting which one that is. */
export interface LiveKeys {
  /** The live key when it is at hand (no database), else undefined. */
  knownLiveKey(owner: ConversationOwner): DataKey | undefined;
  liveKey(owner: ConversationOwner): Promise<DataKey>;
  forgetConversation(conversationId: string): void;
}

/**
 * What every writer of conversation events seals through (API, seed, bench, test drivers): the
 * events about to be appended with their sealed fields encrypted under the conversation's live
 * key (made on its first sealed field). `forget` after a conflict or any error: an erasure may
 * have replaced the key in between.
 */
export interface ContentSealer {
  seal<E extends SealableEvent>(owner: ConversationOwner, events: E[]): Promise<E[]>;
  forget(conversationId: string): void;
}

export function contentSealer(keys: LiveKeys): ContentSealer {
  const sealAll = <E extends SealableEvent>(key: DataKey, events: E[]): E[] =>
    events.map((e) => (needsSealing(e) ? { ...e, data: sealData(key, e) } : e));
  return {
    // Not async: with the key at hand (every message after a conversation's first) sealing
    // takes no turn of the event loop of its own.
    seal(owner, events) {
      try {
        if (!events.some(needsSealing)) return Promise.resolve(events);
        const known = keys.knownLiveKey(owner);
        if (known) return Promise.resolve(sealAll(known, events));
      } catch (err) {
        return Promise.reject(err);
      }
      return keys.liveKey(owner).then((key) => sealAll(key, events));
    },
    forget: (conversationId) => keys.forgetConversation(conversationId),
  };
}
