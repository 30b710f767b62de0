import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AppendResult, NewEvent, newEventId, PostgresEventStore, StoredEvent, VersionConflict } from '@app/event-store';
import { assertNotSelfReview, ConversationCommand, ConversationState, decide, DomainEvent } from '@app/conversation';
import { ApiError } from '../../common/api-error';
import { assertTenant } from '../../auth/api-key.guard';
import { loadConversation, streamIdOf } from '../conversation-stream';
import { PolicyBook, POLICIES } from '../policies';
import type { AppConfig } from '@app/platform';
import { APP_CONFIG } from '../../database/database.providers';
import { actorOf } from './actor';
import { assertRoom, isBoundedBySize } from './stream-limits';
import { CommandContext, ExecuteConversationCommand } from './conversation-command';

export interface CommandOutcome {
  /** The events this command appended (or appended the first time, for a replay). */
  events: Pick<StoredEvent, 'eventId' | 'type' | 'data'>[];
  version: number;
  position: string;
  replayed: boolean;
}

/**
 * Separation of duties: the end under review names the key (and its holder) that recorded it in
 * its metadata; the reviewer may be neither. Checked after decide, so an unknown end is still
 * UNKNOWN_END; refused, nothing is appended.
 */
function assertSeparateReviewer(history: StoredEvent[], endEventId: string, ctx: CommandContext): void {
  const end = history.find((e) => e.eventId === endEventId && e.type === 'ConversationEnded');
  if (!end) return;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  assertNotSelfReview(
    { keyId: text(end.metadata.apiKeyId), holder: text(end.metadata.apiKeyHolder) },
    { keyId: ctx.principal.keyId, holder: ctx.principal.holder },
    endEventId,
  );
}

/** Attempts when another writer moved the stream between our read and our append. */
const MAX_ATTEMPTS = 5;

/**
 * Load the stream, fold, decide, append at the version read. On a conflict without If-Match
 * the decision is taken again on the newer state; with If-Match the caller is told (412).
 */
@CommandHandler(ExecuteConversationCommand)
export class ExecuteConversationCommandHandler implements ICommandHandler<ExecuteConversationCommand, CommandOutcome> {
  constructor(
    private readonly store: PostgresEventStore,
    @Inject(POLICIES) private readonly policies: PolicyBook,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async execute({ conversationId, command, context }: ExecuteConversationCommand): Promise<CommandOutcome> {
    const { maxConversationEvents: maxEvents, maxConversationBytes: maxBytes } = this.config.limits;
    for (let attempt = 1; ; attempt++) {
      const { state, events: history } = await loadConversation(this.store, conversationId);
      try {
        const decided = this.decideOn(state, command, context, conversationId);
        if (command.type === 'ReviewEndDecision') assertSeparateReviewer(history, command.data.endEventId, context);
        const events = this.envelope(decided, state, command, context);
        if (isBoundedBySize(command, context)) assertRoom(history, events, { maxEvents, maxBytes }, conversationId);
        const result = await this.store.append(streamIdOf(conversationId), events, {
          expectedVersion: state.version === 0 ? 'no_stream' : state.version,
          idempotency: context.idempotency && { scope: context.principal.tenantId, ...context.idempotency },
        });
        return await this.outcome(result, events);
      } catch (err) {
        const replay = await this.replayOf(context);
        if (replay) return replay;
        if (!(err instanceof VersionConflict)) throw err;
        if (context.ifMatch !== undefined) throw this.preconditionFailed(context.ifMatch, err.actual);
        if (attempt >= MAX_ATTEMPTS) throw err;
      }
    }
  }

  private decideOn(state: ConversationState, command: ConversationCommand, ctx: CommandContext, id: string): DomainEvent[] {
    if (command.type !== 'StartConversation') {
      if (!state.exists) throw ApiError.notFound(`conversation ${id}`);
      assertTenant(ctx.principal, state.tenantId, `conversation ${id}`);
    }
    if (ctx.ifMatch !== undefined && ctx.ifMatch !== state.version) throw new VersionConflict(id, String(ctx.ifMatch), state.version);
    return decide(command, state, this.policies.current);
  }

  private envelope(events: DomainEvent[], state: ConversationState, command: ConversationCommand, ctx: CommandContext): NewEvent[] {
    const occurredAt = new Date().toISOString();
    const actor = actorOf(command, state, ctx.principal);
    const tenantId = command.type === 'StartConversation' ? command.data.tenantId : state.tenantId;
    return events.map((e) => ({
      eventId: newEventId(),
      type: e.type,
      data: e.data as unknown as Record<string, unknown>,
      occurredAt,
      metadata: {
        actor,
        tenantId,
        apiKeyId: ctx.principal.keyId,
        ...(ctx.principal.holder ? { apiKeyHolder: ctx.principal.holder } : {}),
        correlationId: ctx.correlationId,
        ...(ctx.causationId ? { causationId: ctx.causationId } : {}),
        ...(ctx.idempotency ? { commandId: ctx.idempotency.key } : {}),
      },
    }));
  }

  /** A request already answered under its Idempotency-Key gets that answer again. */
  private async replayOf(ctx: CommandContext): Promise<CommandOutcome | null> {
    if (!ctx.idempotency) return null;
    const first = await this.store.findIdempotentResult(ctx.principal.tenantId, ctx.idempotency.key);
    if (!first) return null;
    if (first.requestHash !== ctx.idempotency.requestHash) {
      throw new ApiError(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for another request');
    }
    return this.outcome(first.result);
  }

  private async outcome(result: AppendResult, appended: NewEvent[] = []): Promise<CommandOutcome> {
    return {
      events: result.replayed ? await this.store.readByEventIds(result.eventIds) : appended,
      version: result.lastVersion,
      position: result.position,
      replayed: result.replayed,
    };
  }

  private preconditionFailed(expected: number, actual: number): ApiError {
    return new ApiError(412, 'VERSION_CONFLICT', `If-Match was "${expected}" but the conversation is at version ${actual}`, {
      currentVersion: actual,
    });
  }
}
