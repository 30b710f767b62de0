import { BeforeApplicationShutdown, Inject, Injectable, Logger, Provider } from '@nestjs/common';
import { Command } from '@nestjs/cqrs';
import { Pool } from 'pg';
import { CommandContext, CommandOutcome, conversationCommandDeps, ConversationCommandDeps } from '@app/application';
import { PostgresEventStore, PostgresSnapshotStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import { APP_CONFIG, PG_POOL } from '../../database/database.providers';
import { ContentProtection } from '../../privacy/content-protection';
import { POLICIES, PolicyBook } from '../policies';

/** The process's ConversationCommandDeps: one queue and one state cache for every handler. */
export const COMMAND_DEPS = Symbol('COMMAND_DEPS');

const logger = new Logger('ConversationCommands');

export const commandDepsProvider: Provider = {
  provide: COMMAND_DEPS,
  inject: [PostgresEventStore, PG_POOL, POLICIES, APP_CONFIG, ContentProtection],
  useFactory: (
    store: PostgresEventStore,
    pool: Pool,
    policies: PolicyBook,
    config: AppConfig,
    content: ContentProtection,
  ) =>
    conversationCommandDeps({
      store,
      content: content.sealer,
      snapshots: new PostgresSnapshotStore(pool),
      policy: () => policies.current,
      limits: { maxEvents: config.limits.maxConversationEvents, maxBytes: config.limits.maxConversationBytes },
      queuePerConversation: config.limits.commandQueuePerConversation,
      cacheEvents: config.limits.commandCacheEvents,
      onSnapshotError: (err) => logger.warn(`a snapshot was not stored: ${(err as Error).message}`),
    }),
};

/** Lets the snapshot writes under way finish before the pools close. */
@Injectable()
export class SnapshotWritesFlusher implements BeforeApplicationShutdown {
  constructor(@Inject(COMMAND_DEPS) private readonly deps: ConversationCommandDeps) {}

  beforeApplicationShutdown(): Promise<void> {
    return this.deps.states.flush();
  }
}

/** What every command answers: the conversation's version after it (its ETag) and its log position. */
export interface Appended {
  version: number;
  position: string;
}

/** A command on one conversation, as the bus carries it: its data and its context; `R` is its answer. */
export abstract class ConversationBusCommand<D, R extends Appended = Appended> extends Command<R> {
  constructor(
    readonly conversationId: string,
    readonly data: D,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export const appended = ({ version, position }: CommandOutcome): Appended => ({ version, position });

/** A field of the first event appended: an id the caller gave or the controller chose (also on a replay). */
export const firstEventField = (outcome: CommandOutcome, field: string): string =>
  (outcome.events[0].data as Record<string, string>)[field];
