import type { ConversationState } from '@app/conversation';
import { WeightedLruCache } from '@app/platform';

/** A folded conversation with the size its stream has at that version. */
export interface CachedConversation {
  state: ConversationState;
  /** The stream's data and metadata as JSON, in bytes, through state.version. */
  bytes: number;
}

/**
 * The folded states of recently used conversations, least recently used forgotten first. Bounded
 * by the events they hold (a state's memory grows with its events, not with its count): one
 * 50,000-event conversation weighs as much as 5,000 short ones. 0 keeps nothing.
 */
export class StateCache extends WeightedLruCache<string, CachedConversation> {
  constructor(readonly maxEvents: number) {
    super(maxEvents, (c) => c.state.version + 1);
  }

  /** The events held, all entries together. */
  get events(): number {
    return this.weight;
  }
}
