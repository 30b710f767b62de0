import {
  ConversationState,
  decide,
  evolve,
  initialState,
  POLICY_V1,
  RecordedConversationEvent,
} from '@app/conversation';
import { planConversation, PlanOptions } from './conversation-plan';

const OPTIONS: PlanOptions = { seed: 42, tenants: 3, from: Date.parse('2025-09-01T00:00:00Z'), days: 28 };

/** Decides every planned command in order, as the seed command does; returns the events. */
function play(index: number, options = OPTIONS): RecordedConversationEvent[] {
  const plan = planConversation(index, options);
  let state: ConversationState = initialState();
  const events: RecordedConversationEvent[] = [];
  for (const step of plan.steps) {
    const decided = decide(step.command, state, POLICY_V1);
    expect(decided).toHaveLength(1);
    const event = {
      ...decided[0],
      eventId: step.eventId,
      version: state.version + 1,
      occurredAt: step.occurredAt,
    } as RecordedConversationEvent;
    state = evolve(state, event);
    events.push(event);
  }
  return events;
}

describe(planConversation.name, () => {
  it('plans the same conversation for the same seed and index, and another for another seed', () => {
    expect(planConversation(17, OPTIONS)).toEqual(planConversation(17, OPTIONS));
    expect(planConversation(17, { ...OPTIONS, seed: 43 }).conversationId).not.toBe(
      planConversation(17, OPTIONS).conversationId,
    );
  });

  it('plans valid commands only, with about one end per 50 conversations and a mix of everything', () => {
    const conversations = 3000;
    const all = Array.from({ length: conversations }, (_, i) => play(i));
    const events = all.flat();
    const of = (type: string) => events.filter((e) => e.type === type);
    const ends = of('ConversationEnded').map(
      (e) => e.data as { reasonCode: string; initiator: string; modelId: string },
    );
    expect(ends.length / conversations).toBeGreaterThan(1 / 80);
    expect(ends.length / conversations).toBeLessThan(1 / 30);
    expect(new Set(ends.map((e) => e.reasonCode)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(ends.map((e) => e.initiator))).toEqual(new Set(['model', 'operator']));
    expect(new Set(ends.map((e) => e.modelId)).size).toBeGreaterThanOrEqual(2);
    expect(of('EndAttemptBlocked').length).toBeGreaterThan(ends.length / 2);
    expect(of('EndDecisionReviewed').length).toBeGreaterThan(ends.length / 5);
    expect(of('MessageAppended').length / events.length).toBeGreaterThan(0.75);
    expect(of('RedirectionAttempted').length).toBeGreaterThan(ends.length);
    expect(new Set(all.map((c) => (c[0].data as { tenantId: string }).tenantId))).toEqual(
      new Set(['tenant-1', 'tenant-2', 'tenant-3']),
    );
  });
});
