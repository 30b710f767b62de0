import type { DataKey } from './content-cipher';
import type { ConversationOwner } from './content-keys';
import { needsSealing, sealData, type SealableEvent } from './sealing';

/** The keys a sealer needs: the conversation's live key, and forgetting which one that is. */
export interface LiveKeys {
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
  return {
    async seal(owner, events) {
      if (!events.some(needsSealing)) return events;
      const key = await keys.liveKey(owner);
      return events.map((e) => (needsSealing(e) ? { ...e, data: sealData(key, e) } : e));
    },
    forget: (conversationId) => keys.forgetConversation(conversationId),
  };
}
