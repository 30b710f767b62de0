import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { DataKey } from './content-cipher';
import type { ConversationOwner, KeyLookup } from './content-keys';
import { kidsOf, needsSealing, sealData, type SealableEvent } from './sealing';

/** The keys a sealer needs: the conversation's live key, a key by id, and forgetting which one is live. */
export interface LiveKeys {
  /** The live key when it is at hand (no database), else undefined. */
  knownLiveKey(owner: ConversationOwner): DataKey | undefined;
  liveKey(owner: ConversationOwner): Promise<DataKey>;
  /** A key by id, never made: null when no such key exists. */
  lookup(kid: string): Promise<KeyLookup | null>;
  forgetConversation(conversationId: string): void;
}

/**
 * What every writer of conversation events seals through (API, seed, bench, test drivers): the
 * events about to be appended with their sealed fields encrypted under the conversation's live
 * key (made on its first sealed field). `forget` after a conflict or any error: an erasure may
 * have replaced the key in between.
 *
 * Idempotency records: a command's record keeps the SHA-256 of its request (body included). For
 * a command whose events carry sealed text it is keyed by the key they were sealed under
 * (HMAC-SHA-256 with a subkey of the data key): once an erasure destroys that key nobody, the
 * operator included, can test a guess of the erased text against the record. A command that
 * seals nothing keeps the plain hash: its body holds no free text.
 */
export interface ContentSealer {
  seal<E extends SealableEvent>(owner: ConversationOwner, events: E[]): Promise<E[]>;
  /**
   * The request hash the record of a command keeps, given the events `seal` gave back for it:
   * keyed by the key their envelopes name (a cache hit: that key just sealed them).
   */
  requestTag(sealed: SealableEvent[], requestHash: string): Promise<string>;
  /**
   * The tag `requestHash` has under the key `kid` (of a recorded command's events): 'erased' once
   * that key is destroyed (the record can no longer tell), null when no such key exists. Never
   * makes a key.
   */
  requestTagUnder(kid: string, requestHash: string): Promise<string | 'erased' | null>;
  forget(conversationId: string): void;
}

/** The key a data key's request tags are made with: HKDF-SHA-256, apart from its AES-GCM use. */
const tagKeys = new WeakMap<Buffer, Buffer>();
function tagKeyOf(key: DataKey): Buffer {
  let tagKey = tagKeys.get(key.key);
  if (!tagKey) tagKeys.set(key.key, (tagKey = Buffer.from(hkdfSync('sha256', key.key, '', 'idempotency-request', 32))));
  return tagKey;
}

/** The HMAC of a request hash under a data key's tag key (see ContentSealer). */
export const requestTagUnderKey = (key: DataKey, requestHash: string): string =>
  createHmac('sha256', tagKeyOf(key)).update(requestHash, 'utf8').digest('hex');

export function contentSealer(keys: LiveKeys): ContentSealer {
  const sealAll = <E extends SealableEvent>(key: DataKey, events: E[]): E[] =>
    events.map((e) => (needsSealing(e) ? { ...e, data: sealData(key, e) } : e));
  const tagUnder = async (kid: string, requestHash: string): Promise<string | 'erased' | null> => {
    const found = await keys.lookup(kid);
    if (!found) return null;
    return found.state === 'destroyed' ? 'erased' : requestTagUnderKey(found.key, requestHash);
  };
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
    async requestTag(sealed, requestHash) {
      const [kid] = sealed.flatMap((e) => kidsOf(e));
      if (kid === undefined) return requestHash;
      const tag = await tagUnder(kid, requestHash);
      // Destroyed since it sealed them: the erasure that destroyed it appended to this stream, so
      // this append conflicts and is decided again. Should one ever be stored, it matches nothing.
      return tag !== null && tag !== 'erased' ? tag : randomBytes(32).toString('hex');
    },
    requestTagUnder: tagUnder,
    forget: (conversationId) => keys.forgetConversation(conversationId),
  };
}
