import { createHmac } from 'node:crypto';
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
  /**
   * What an idempotency record keeps of a command's request: its SHA-256 (`requestHash`, the
   * body's text included) keyed by the conversation's live data key (HMAC-SHA-256). Once an
   * erasure destroys that key nobody, the operator included, can test a guess of the erased text
   * against the record; until then it tells a retry from another request as the plain hash did.
   */
  requestTag(owner: ConversationOwner, requestHash: string): Promise<string>;
  forget(conversationId: string): void;
}

/** The HMAC of a request hash under a data key (see ContentSealer.requestTag). */
export const requestTagUnder = (key: DataKey, requestHash: string): string =>
  createHmac('sha256', key.key).update(`idempotency-request\n${requestHash}`, 'utf8').digest('hex');

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
    async requestTag(owner, requestHash) {
      return requestTagUnder(keys.knownLiveKey(owner) ?? (await keys.liveKey(owner)), requestHash);
    },
    forget: (conversationId) => keys.forgetConversation(conversationId),
  };
}
