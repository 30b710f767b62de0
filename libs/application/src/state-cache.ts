import type { ConversationState } from '@app/conversation';

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
export class StateCache {
  private readonly entries = new Map<string, CachedConversation & { weight: number }>();
  private weight = 0;

  constructor(readonly maxEvents: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The events held, all entries together. */
  get events(): number {
    return this.weight;
  }

  get(conversationId: string): CachedConversation | undefined {
    const entry = this.entries.get(conversationId);
    if (!entry) return undefined;
    this.entries.delete(conversationId);
    this.entries.set(conversationId, entry);
    return entry;
  }

  /** The entry without counting it as a use (the LRU order stays). */
  peek(conversationId: string): CachedConversation | undefined {
    return this.entries.get(conversationId);
  }

  set(conversationId: string, value: CachedConversation): void {
    this.delete(conversationId);
    const weight = value.state.version + 1;
    if (weight > this.maxEvents) return;
    this.entries.set(conversationId, { ...value, weight });
    this.weight += weight;
    for (const [id, oldest] of this.entries) {
      if (this.weight <= this.maxEvents) break;
      this.entries.delete(id);
      this.weight -= oldest.weight;
    }
  }

  delete(conversationId: string): void {
    const entry = this.entries.get(conversationId);
    if (!entry) return;
    this.entries.delete(conversationId);
    this.weight -= entry.weight;
  }
}
