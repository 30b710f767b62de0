import {
  CONVERSATION_SNAPSHOT_SCHEMA,
  type ConversationSnapshot,
  type ConversationState,
  foldEvents,
  foldEventsInPlace,
  fromSnapshot,
  type RecordedConversationEvent,
  snapshotPointAtOrBefore,
  streamIdOf,
  toSnapshot,
} from '@app/conversation';
import type { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import { toCommandEvent } from './recorded';
import type { CachedConversation, StateCache } from './state-cache';
import { bytesOf } from './stream-limits';

export interface LoadedConversation extends CachedConversation {
  /** From the cache: behind the stream when another process appended since. */
  cached: boolean;
}

export interface StateOptions {
  /** A snapshot is taken each time a stream passes a snapshot point (snapshotPointAtOrBefore with this). */
  snapshotEvery: number;
  /** A failed snapshot write (best-effort: it costs a longer fold later, nothing else). */
  onSnapshotError?(err: unknown): void;
}

/**
 * Where commands get a conversation's folded state (content-free, see toCommandEvent): the
 * cache, else the newest snapshot and the events after it, else the whole stream. Commands on a
 * conversation run one at a time (KeyedQueue), so the cached state is folded on in place.
 */
export class ConversationStates {
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly store: Pick<PostgresEventStore, 'readStream' | 'streamVersion'>,
    private readonly snapshots: Pick<PostgresSnapshotStore, 'read' | 'write'> | null,
    readonly cache: StateCache,
    private readonly options: StateOptions,
  ) {}

  async load(conversationId: string): Promise<LoadedConversation> {
    const hit = this.cache.get(conversationId);
    if (hit) return { ...hit, cached: true };
    const streamId = streamIdOf(conversationId);
    const snapshot = this.snapshots && (await this.snapshots.read(streamId, CONVERSATION_SNAPSHOT_SCHEMA));
    const tail = await this.store.readStream(streamId, { fromVersion: (snapshot?.version ?? 0) + 1 });
    const events = tail.map(toCommandEvent);
    // fromSnapshot's state is ours alone: folded on in place; the initial one is shared.
    const state = snapshot
      ? foldEventsInPlace(fromSnapshot(snapshot.state as ConversationSnapshot), events)
      : foldEvents(events);
    let bytes = snapshot?.bytes ?? 0;
    for (const e of tail) bytes += bytesOf(e);
    if (snapshotPointAtOrBefore(state.version, this.options.snapshotEvery) > (snapshot?.version ?? 0))
      this.snapshot(streamId, state, bytes);
    // Held from now on (as read: the stream's state): the next command, or another tenant's
    // refused before it queues (knownTenant), pays no read.
    if (state.exists) this.cache.set(conversationId, { state, bytes });
    return { state, bytes, cached: false };
  }

  /**
   * A stream not read, taken to be new (a start needs no read): a cached guess, so that a stream
   * that exists after all conflicts on append, or has a refusal checked again. Null when cached.
   */
  assumeNew(conversationId: string): LoadedConversation | null {
    return this.cache.get(conversationId) ? null : { state: foldEvents([]), bytes: 0, cached: true };
  }

  /**
   * The tenant of a conversation this process holds folded, else null. A conversation's tenant
   * never changes, so any cached state answers it, read outside the conversation's queue.
   */
  knownTenant(conversationId: string): string | null {
    const state = this.cache.peek(conversationId)?.state;
    return state?.exists ? state.tenantId : null;
  }

  /** Whether the stream is still at `version` (a refusal decided on a cached state stands). */
  async isCurrent(conversationId: string, version: number): Promise<boolean> {
    return (await this.store.streamVersion(streamIdOf(conversationId))) === version;
  }

  /** After an append: the loaded state folded on with what was appended, cached; a snapshot now and then. */
  advance(
    conversationId: string,
    loaded: LoadedConversation,
    appended: RecordedConversationEvent[],
    bytes: number,
  ): void {
    const before = loaded.state.version;
    let state: ConversationState;
    try {
      state = foldEventsInPlace(loaded.state, appended);
    } catch {
      // the append stands; only the cache could be wrong
      this.forget(conversationId);
      return;
    }
    const entry = { state, bytes: loaded.bytes + bytes };
    this.cache.set(conversationId, entry);
    const every = this.options.snapshotEvery;
    if (snapshotPointAtOrBefore(state.version, every) > snapshotPointAtOrBefore(before, every))
      this.snapshot(streamIdOf(conversationId), state, entry.bytes);
  }

  forget(conversationId: string): void {
    this.cache.delete(conversationId);
  }

  /** Settles once every snapshot write started so far has (for tests and shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.writes]);
  }

  private snapshot(streamId: string, state: ConversationState, bytes: number): void {
    if (!this.snapshots || state.version === 0) return;
    // Serialised now: the state is folded on in place by the next command.
    const stateJson = JSON.stringify(toSnapshot(state));
    const write = this.snapshots
      .write(streamId, { version: state.version, schemaVersion: CONVERSATION_SNAPSHOT_SCHEMA, bytes, stateJson })
      .catch((err: unknown) => this.options.onSnapshotError?.(err))
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }
}
