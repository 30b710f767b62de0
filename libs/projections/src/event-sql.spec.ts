import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type ConversationCommand,
  type ConversationState,
  decide,
  type DomainEvent,
  evolve,
  initialState,
  POLICY_V1,
} from '@app/conversation';
// Loading both libraries builds every statement that reads event fields (eventData).
import { eventData, fieldsReadInSql, typeIs } from '@app/projections';
import '@app/audit';

const ROOT = resolve(__dirname, '../../..');
const T0 = '2025-09-01T10:00:00.000Z';

type Step = ConversationCommand | ((state: ConversationState) => ConversationCommand);

/** Events as the domain writes them. */
function eventsOf(steps: Step[]): DomainEvent[] {
  let state: ConversationState = initialState();
  const events: DomainEvent[] = [];
  for (const step of steps) {
    for (const event of decide(typeof step === 'function' ? step(state) : step, state, POLICY_V1)) {
      events.push(event);
      state = evolve(state, { ...event, eventId: `e${events.length}`, version: events.length, occurredAt: T0 });
    }
  }
  return events;
}

const model = 'claude-opus-4-1';
const message = (
  messageId: string,
  parentMessageId: string | null,
  role: 'user' | 'assistant',
): ConversationCommand => ({
  type: 'AppendMessage',
  data: {
    messageId,
    parentMessageId,
    role,
    content: 'text',
    ...(role === 'assistant' && { modelId: model, stopReason: 'end_turn' }),
  },
});
/** Every event type SQL reads, each optional field set: a blocked end, an end, a review. */
const SAMPLES = eventsOf([
  {
    type: 'StartConversation',
    data: { conversationId: 'c1', tenantId: 't1', subjectId: 's1', modelId: model, channel: 'web' },
  },
  message('u1', null, 'user'),
  message('a1', 'u1', 'assistant'),
  {
    type: 'EndConversation',
    data: { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: 'u1', modelId: model },
  },
  message('u2', 'a1', 'user'),
  message('a2', 'u2', 'assistant'),
  message('u3', 'a2', 'user'),
  { type: 'RecordRedirection', data: { messageId: 'a1', harmCategory: 'ABUSE_OF_ASSISTANT' } },
  { type: 'RecordRedirection', data: { messageId: 'a2', harmCategory: 'ABUSE_OF_ASSISTANT' } },
  {
    type: 'EndConversation',
    data: {
      initiator: 'model',
      reasonCode: 'ABUSE_OF_ASSISTANT',
      atMessageId: 'u3',
      explanation: 'x',
      evidenceMessageIds: ['u3'],
      modelId: model,
    },
  },
  (state) => ({
    type: 'ReviewEndDecision',
    data: {
      reviewId: 'r1',
      reviewerId: 'k1',
      endEventId: state.ends[0].endEventId,
      outcome: 'reclassified',
      newReasonCode: 'HATE_OR_HARASSMENT_GENERATION',
      errorType: 'wrong_reason',
      note: 'n',
    },
  }),
]);
// Taken before any test runs: the statements of both libraries are built when they load.
const READ = new Map([...fieldsReadInSql()].map(([type, fields]) => [type, new Set(fields)]));

describe('Event fields read in SQL', () => {
  it('come from the event definitions: a field that does not exist is a compile error', () => {
    const ended = eventData('ConversationEnded');
    expect(ended.text('reasonCode')).toBe("data->>'reasonCode'");
    // @ts-expect-error ConversationEnded has no field "reason"
    const misspelt = () => ended.json('reason');
    expect(misspelt).toBeInstanceOf(Function);
  });

  it('name event types from the event definitions: a type that does not exist is a compile error', () => {
    expect(typeIs(['ConversationEnded'], 'e')).toBe("e.type = 'ConversationEnded'");
    expect(typeIs(['ConversationStarted', 'MessageAppended'])).toBe(
      "type IN ('ConversationStarted', 'MessageAppended')",
    );
    // @ts-expect-error there is no ConversationClosed event
    const misnamed = () => typeIs(['ConversationClosed']);
    expect(misnamed).toBeInstanceOf(Function);
  });

  it('are all written by the domain, for the event type they are read of', () => {
    expect([...READ.keys()].sort()).toEqual([
      'ConversationEnded',
      'ConversationStarted',
      'EndAttemptBlocked',
      'EndDecisionReviewed',
      'MessageAppended',
    ]);
    const missing: string[] = [];
    for (const [type, fields] of READ) {
      const samples = SAMPLES.filter((e) => e.type === type);
      if (samples.length === 0) missing.push(`${type} (no sample)`);
      for (const field of fields) if (!samples.some((e) => field in e.data)) missing.push(`${type}.${field}`);
    }
    expect(missing).toEqual([]);
  });

  it('are never written into SQL by hand in the projections or the audit queries', () => {
    const found: string[] = [];
    for (const dir of ['libs/projections/src', 'libs/audit/src']) {
      for (const file of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
        // event-sql.ts writes the one `->>` of them all.
        if (!file.endsWith('.ts') || /\.(int-)?spec\.ts$/.test(file) || file === 'event-sql.ts') continue;
        const text = readFileSync(join(ROOT, dir, file), 'utf8');
        // A JSON field by name (metadata's are not events'), or an event type compared by name.
        for (const m of text.matchAll(/(?<!metadata\s*)->>?\s*'\w+'|\btype\s*(=|IN)\s*\(?\s*'[A-Z]\w*'/g))
          found.push(`${dir}/${file}: ${m[0]}`);
      }
    }
    expect(found).toEqual([]);
  });
});
