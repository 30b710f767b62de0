import {
  assertNotSelfReview,
  type ConversationCommand,
  ConversationError,
  type ConversationState,
  decide,
  type Policy,
  type RecordedConversationEvent,
  streamIdOf,
} from '@app/conversation';
import {
  type AppendResult,
  IdempotencyKeyReused,
  type NewEvent,
  type PostgresEventStore,
  VersionConflict,
} from '@app/event-store';
import { type ContentSealer, type ConversationOwner, kidsOf } from '@app/privacy';
import { ALL_TENANTS, type CommandContext, type CommandOutcome } from './command-context';
import type { ConversationStates, LoadedConversation } from './conversation-states';
import { envelope, type EventSource } from './envelope';
import { ConversationBusy, ConversationNotFound, StaleVersion } from './errors';
import { KeyedQueue, KeyedQueueFull } from './keyed-queue';
import { toCommandEvent } from './recorded';
import { backoffMs, type RetryPolicy, sleep } from './retry';
import { assertRoom, isBoundedBySize, newEventBytes, type StreamLimits } from './stream-limits';

export type CommandStore = Pick<PostgresEventStore, 'append' | 'readByEventIds' | 'findIdempotentResult'>;

/** Everything a command needs besides itself; one per process (its queue and cache are shared). */
export interface ConversationCommandDeps extends EventSource {
  store: CommandStore;
  states: ConversationStates;
  queue: KeyedQueue;
  /** The policy in force: ends are judged under it and record its version. */
  policy(): Policy;
  limits: StreamLimits;
  retry: RetryPolicy;
  /** Retry-After of a 503 CONVERSATION_BUSY. */
  busyRetryAfterSeconds: number;
  /** Seals the sealed fields of the events about to be appended under the conversation's live key. */
  content: ContentSealer;
}

export interface ConversationCommandRequest {
  conversationId: string;
  command: ConversationCommand;
  context: CommandContext;
}

/**
 * The one way a conversation command is carried out (API, seed, bench, test drivers): in the
 * conversation's queue, load (cache, snapshot, stream) → decide → envelope → append at the
 * version decided on. Another process's append in between is a VersionConflict: decided again on
 * the newer state after a jittered wait, up to `retry.attempts` (then 409); with If-Match, 412 at
 * once. A request already answered under its Idempotency-Key gets that answer again.
 */
export async function handleConversationCommand(
  deps: ConversationCommandDeps,
  request: ConversationCommandRequest,
): Promise<CommandOutcome> {
  // Another tenant's command on a conversation this process knows is refused before it queues:
  // it must not take the owner's places in the queue (each waiting its turn to be told 404).
  // A start with its id is told at once that it exists (the answer it would get in the queue).
  const owner = deps.states.knownTenant(request.conversationId);
  if (owner !== null && !visibleTo(request.context, owner)) {
    if (request.command.type !== 'StartConversation') throw new ConversationNotFound(request.conversationId);
    throw conversationExists(request.conversationId);
  }
  try {
    return await deps.queue.run(request.conversationId, () => attempts(deps, request));
  } catch (err) {
    throw err instanceof KeyedQueueFull
      ? new ConversationBusy(request.conversationId, deps.busyRetryAfterSeconds)
      : err;
  }
}

async function attempts(
  deps: ConversationCommandDeps,
  { conversationId, command, context }: ConversationCommandRequest,
): Promise<CommandOutcome> {
  let rechecked = false;
  for (let attempt = 1; ;) {
    const guess = attempt === 1 && !rechecked && command.type === 'StartConversation' && context.ifMatch === undefined;
    const loaded = (guess && deps.states.assumeNew(conversationId)) || (await deps.states.load(conversationId));
    try {
      const { events, bytes } = await decideEvents(deps, loaded, conversationId, command, context);
      const result = await deps.store.append(streamIdOf(conversationId), events, {
        expectedVersion: loaded.state.version === 0 ? 'no_stream' : loaded.state.version,
        idempotency: context.idempotency && {
          scope: context.principal.tenantId,
          key: context.idempotency.key,
          requestHash: await deps.content.requestTag(events, context.idempotency.requestHash),
        },
      });
      if (result.replayed) deps.states.forget(conversationId);
      else deps.states.advance(conversationId, loaded, recordedOf(events, result), bytes);
      return await outcome(deps.store, result, events);
    } catch (err) {
      const refusal =
        err instanceof ConversationError || err instanceof StaleVersion || err instanceof ConversationNotFound;
      // A refusal decided on a cached state stands only if the stream is still at that state.
      if (refusal && loaded.cached && !rechecked) {
        rechecked = true;
        if (!(await deps.states.isCurrent(conversationId, loaded.state.version))) {
          deps.states.forget(conversationId);
          continue;
        }
      }
      // A conflict or a failed append: an erasure in between may have destroyed the key sealed
      // with, so the next attempt looks it up. A refusal appended nothing and keeps both.
      if (!refusal) {
        deps.states.forget(conversationId);
        deps.content.forget(conversationId);
      }
      const replay = await replayOf(deps, context, conversationId);
      if (replay) return replay;
      if (!(err instanceof VersionConflict)) throw err;
      if (context.ifMatch !== undefined) throw new StaleVersion(context.ifMatch, err.actual);
      if (attempt >= deps.retry.attempts) throw err;
      await sleep(backoffMs(attempt++, deps.retry));
    }
  }
}

const conversationExists = (conversationId: string): ConversationError =>
  new ConversationError('CONVERSATION_EXISTS', `Conversation ${conversationId} already exists`, { conversationId });

/** A key of every tenant, or of the conversation's. */
const visibleTo = ({ principal }: CommandContext, tenantId: string): boolean =>
  principal.tenantId === ALL_TENANTS || principal.tenantId === tenantId;

/** The events to append, enveloped and sealed, and their size (serialised once); or the refusal (nothing appended). */
async function decideEvents(
  deps: ConversationCommandDeps,
  { state, bytes }: LoadedConversation,
  conversationId: string,
  command: ConversationCommand,
  context: CommandContext,
): Promise<{ events: NewEvent[]; bytes: number }> {
  if (command.type !== 'StartConversation' && !(state.exists && visibleTo(context, state.tenantId)))
    throw new ConversationNotFound(conversationId);
  // Another tenant's conversation started again: that it exists is all it learns, never its
  // version (which If-Match's 412 would tell).
  if (command.type === 'StartConversation' && state.exists && !visibleTo(context, state.tenantId))
    throw conversationExists(conversationId);
  if (context.ifMatch !== undefined && context.ifMatch !== state.version)
    throw new StaleVersion(context.ifMatch, state.version);
  const decided = decide(command, state, deps.policy());
  if (command.type === 'ReviewEndDecision')
    await assertSeparateReviewer(deps.store, conversationId, command.data.endEventId, context);
  const events = await deps.content.seal(
    ownerOf(conversationId, command, state),
    envelope(decided, state, command, context, deps),
  );
  // The limits are on the stored (sealed) form.
  const size = sizeOf(events);
  if (isBoundedBySize(command, context)) {
    assertRoom({ events: state.version, bytes }, { events: events.length, bytes: size }, deps.limits, conversationId);
  }
  return { events, bytes: size };
}

/**
 * Separation of duties: the end under review names the key (and its holder) that recorded it in
 * its metadata; the reviewer may be neither. Checked after decide, so an unknown end is still
 * UNKNOWN_END. The one event is read by id, not the stream.
 */
async function assertSeparateReviewer(
  store: CommandStore,
  conversationId: string,
  endEventId: string,
  context: CommandContext,
): Promise<void> {
  const [end] = await store.readByEventIds([endEventId]);
  if (!end || end.streamId !== streamIdOf(conversationId) || end.type !== 'ConversationEnded') return;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  assertNotSelfReview(
    { keyId: text(end.metadata.apiKeyId), holder: text(end.metadata.apiKeyHolder) },
    { keyId: context.principal.keyId, holder: context.principal.holder },
    endEventId,
  );
}

const sizeOf = (events: NewEvent[]): number => events.reduce((n, e) => n + newEventBytes(e), 0);

const recordedOf = (events: NewEvent[], result: AppendResult): RecordedConversationEvent[] =>
  events.map((e, i) => toCommandEvent({ ...e, version: result.firstVersion + i }));

/** Whose content keys the conversation's events are sealed under (and its requests tagged with). */
const ownerOf = (conversationId: string, command: ConversationCommand, state: ConversationState): ConversationOwner =>
  command.type === 'StartConversation'
    ? { conversationId, tenantId: command.data.tenantId, subjectId: command.data.subjectId }
    : {
        conversationId,
        tenantId: state.tenantId,
        subjectId: state.subjectId,
        retiredKeyIds: state.erasedContentKeyIds,
        keyLikelyNew: state.version <= 1,
      };

/** A request already answered under its Idempotency-Key gets that answer again. */
async function replayOf(
  deps: ConversationCommandDeps,
  context: CommandContext,
  conversationId: string,
): Promise<CommandOutcome | null> {
  if (!context.idempotency) return null;
  const first = await deps.store.findIdempotentResult(context.principal.tenantId, context.idempotency.key);
  if (!first) return null;
  if (!(await isSameRequest(deps, context.idempotency.requestHash, first, conversationId))) {
    throw new IdempotencyKeyReused(context.idempotency.key);
  }
  return outcome(deps.store, first.result);
}

/**
 * Whether the request first answered under a key is this one (ContentSealer: a record keeps the
 * plain hash of a request that sealed nothing, and of any recorded before request hashes were
 * keyed; else the hash keyed by the key its events were sealed under). Keyed by a key an erasure
 * has destroyed since, the record can no longer tell: a request under that key on the same
 * conversation gets the first answer again (never a second append), as a retry would.
 */
async function isSameRequest(
  deps: ConversationCommandDeps,
  requestHash: string,
  first: { requestHash: string; result: AppendResult },
  conversationId: string,
): Promise<boolean> {
  if (first.requestHash === requestHash) return true;
  if (first.result.streamId !== streamIdOf(conversationId)) return false;
  const [kid] = (await deps.store.readByEventIds(first.result.eventIds)).flatMap((e) => kidsOf(e));
  if (kid === undefined) return false; // it sealed nothing: its plain hash decides
  const tag = await deps.content.requestTagUnder(kid, requestHash);
  return tag === 'erased' || tag === first.requestHash;
}

async function outcome(store: CommandStore, result: AppendResult, appended: NewEvent[] = []): Promise<CommandOutcome> {
  return {
    events: result.replayed ? await store.readByEventIds(result.eventIds) : appended,
    version: result.lastVersion,
    position: result.position,
    replayed: result.replayed,
  };
}
