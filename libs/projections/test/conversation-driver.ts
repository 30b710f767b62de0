// Drives conversations the way the API does, through handleConversationCommand, at fixed times
// (one minute per event). For the projection integration tests.
import { randomUUID } from 'node:crypto';
import { ConversationCommandDeps } from '@app/application';
import {
  ConversationCommand,
  ConversationState,
  EndConversationData,
  evolve,
  HarmCategory,
  initialState,
  isConversationError,
  MessageRole,
  Policy,
  RecordedConversationEvent,
  ReviewEndDecision,
} from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { fixtureDeps, runFixtureCommand } from '@app/testing';

export const END_CAPABLE_MODEL = 'claude-opus-4-1';

export interface DriverOptions {
  tenantId?: string;
  modelId?: string;
  /** occurredAt of the first event; each later event one minute on. */
  startAt?: string;
  conversationId?: string;
  policy?: Policy;
}

export class ConversationDriver {
  state: ConversationState = initialState();
  readonly events: RecordedConversationEvent[] = [];
  /** Position of the last append. */
  position: string | null = null;
  readonly conversationId: string;
  readonly tenantId: string;
  readonly modelId: string;
  private readonly startAt: number;
  /** The deps it writes through (its own queue and state cache). */
  readonly deps: ConversationCommandDeps;

  constructor(store: PostgresEventStore, options: DriverOptions = {}) {
    this.conversationId = options.conversationId ?? randomUUID();
    this.tenantId = options.tenantId ?? 'tenant-a';
    this.modelId = options.modelId ?? END_CAPABLE_MODEL;
    this.startAt = Date.parse(options.startAt ?? '2025-09-01T10:00:00.000Z');
    this.deps = fixtureDeps(store, { policy: options.policy, clock: () => this.now() });
  }

  /** The time of the next event: a minute after the one before. */
  private now(): Date {
    return new Date(this.startAt + this.state.version * 60_000);
  }

  /** Decides and appends; null (nothing appended) when the domain refuses the command. */
  async tryRun(command: ConversationCommand): Promise<RecordedConversationEvent[] | null> {
    const occurredAt = this.now().toISOString();
    let outcome;
    try {
      outcome = await runFixtureCommand(this.deps, this.conversationId, this.tenantId, command);
    } catch (err) {
      if (isConversationError(err)) return null;
      throw err;
    }
    const first = outcome.version - outcome.events.length + 1;
    const recorded = outcome.events.map(
      (e, i) => ({ ...e, version: first + i, occurredAt }) as RecordedConversationEvent,
    );
    for (const e of recorded) this.state = evolve(this.state, e);
    this.events.push(...recorded);
    this.position = outcome.position;
    return recorded;
  }

  async run(command: ConversationCommand): Promise<RecordedConversationEvent> {
    const events = await this.tryRun(command);
    if (!events) throw new Error(`refused: ${JSON.stringify(command)}`);
    return events[0];
  }

  start(): Promise<RecordedConversationEvent> {
    const { conversationId, tenantId, modelId } = this;
    return this.run({
      type: 'StartConversation',
      data: { conversationId, tenantId, subjectId: `subject-${tenantId}`, modelId },
    });
  }

  /** Appends a message and returns its id. */
  async say(role: MessageRole, parentMessageId: string | null, content = `${role} writes something`): Promise<string> {
    const messageId = randomUUID();
    const assistant = role === 'assistant' ? { modelId: this.modelId, stopReason: 'end_turn' as const } : {};
    await this.run({ type: 'AppendMessage', data: { messageId, parentMessageId, role, content, ...assistant } });
    return messageId;
  }

  redirect(messageId: string, harmCategory: HarmCategory = 'ABUSE_OF_ASSISTANT'): Promise<RecordedConversationEvent> {
    return this.run({ type: 'RecordRedirection', data: { messageId, harmCategory } });
  }

  end(data: EndConversationData): Promise<RecordedConversationEvent> {
    return this.run({ type: 'EndConversation', data });
  }

  async review(endEventId: string, data: Omit<ReviewEndDecision['data'], 'reviewId' | 'endEventId' | 'reviewerId'>) {
    const event = await this.run({
      type: 'ReviewEndDecision',
      data: { reviewId: randomUUID(), reviewerId: 'auditor-1', endEventId, ...data },
    });
    return event as Extract<RecordedConversationEvent, { type: 'EndDecisionReviewed' }>;
  }

  /** A thread u → a → u → a … of `turns` pairs, returning the ids in order. */
  async thread(turns: number, parent: string | null = null): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < turns; i++) {
      parent = await this.say('user', parent);
      ids.push(parent);
      parent = await this.say('assistant', parent);
      ids.push(parent);
    }
    return ids;
  }
}
