import type { Policy } from '@app/conversation';
import { newEventId, type PostgresEventStore, type PostgresSnapshotStore } from '@app/event-store';
import type { ContentSealer } from '@app/privacy';
import { ConversationStates } from './conversation-states';
import type { ConversationCommandDeps } from './handle-conversation-command';
import { KeyedQueue } from './keyed-queue';
import { DEFAULT_RETRY, type RetryPolicy } from './retry';
import { StateCache } from './state-cache';
import type { StreamLimits } from './stream-limits';

export interface CommandDepsOptions {
  store: PostgresEventStore;
  /** null: no snapshots (every cold load folds the whole stream). */
  snapshots: PostgresSnapshotStore | null;
  policy(): Policy;
  limits: StreamLimits;
  /** Every writer seals through it (contentSealer over the process's ContentKeys). */
  content: ContentSealer;
  /** Commands queued or running per conversation in this process; beyond, 503 CONVERSATION_BUSY. */
  queuePerConversation?: number;
  /** Events the state cache may hold, all conversations together (0: no cache). */
  cacheEvents?: number;
  snapshotEvery?: number;
  retry?: Partial<RetryPolicy>;
  clock?(): Date;
  newEventId?(): string;
  onSnapshotError?(err: unknown): void;
}

export const COMMAND_DEFAULTS = {
  queuePerConversation: 256,
  cacheEvents: 500_000,
  snapshotEvery: 100,
  busyRetryAfterSeconds: 1,
};

/**
 * The dependencies of handleConversationCommand, with the wall clock and time-ordered event ids
 * (UUIDv7: the event_id index grows at its right edge) unless given.
 */
export function conversationCommandDeps(o: CommandDepsOptions): ConversationCommandDeps {
  const cache = new StateCache(o.cacheEvents ?? COMMAND_DEFAULTS.cacheEvents);
  return {
    store: o.store,
    states: new ConversationStates(o.store, o.snapshots, cache, {
      snapshotEvery: o.snapshotEvery ?? COMMAND_DEFAULTS.snapshotEvery,
      onSnapshotError: o.onSnapshotError,
    }),
    queue: new KeyedQueue(o.queuePerConversation ?? COMMAND_DEFAULTS.queuePerConversation),
    policy: o.policy,
    limits: o.limits,
    retry: { ...DEFAULT_RETRY, ...o.retry },
    busyRetryAfterSeconds: COMMAND_DEFAULTS.busyRetryAfterSeconds,
    content: o.content,
    clock: o.clock ?? (() => new Date()),
    newEventId: o.newEventId ?? (() => newEventId()),
  };
}
