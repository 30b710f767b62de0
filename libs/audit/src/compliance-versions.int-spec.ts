import { randomUUID } from 'node:crypto';
import {
  ConversationCommand,
  decide,
  evolve,
  initialState,
  parsePolicy,
  Policy,
  POLICY_V1,
  RecordedConversationEvent,
  streamIdOf,
  V1_REASON_CODE_RULES,
} from '@app/conversation';
import { NewEvent, PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { checkCompliance } from './compliance';
import { policyDigest, policyStreamId, POLICY_VERSION_RECORDED } from './stored-policies';

const AT = '2026-02-03T04:05:06.000Z';
/** Version 1 as a release before reason codes were policy data stored it: no table. */
const { reasonCodes: _table, ...storedV1 } = JSON.parse(JSON.stringify(POLICY_V1));
/** Version 2 drops OTHER_POLICY and adds SPAM_FLOOD. */
const storedV2 = {
  ...storedV1,
  version: 2,
  reasonCodes: [
    ...V1_REASON_CODE_RULES.filter((rule) => rule.code !== 'OTHER_POLICY'),
    {
      code: 'SPAM_FLOOD',
      meaning: 'floods of automated messages',
      initiators: ['model', 'operator'],
      explanationRequired: false,
    },
  ],
};
const V2 = parsePolicy(storedV2);

/** A conversation ended as `end` asks, decided under `policy`; `recordAs` forges the version the end records. */
function endedConversation(policy: Policy, end: Record<string, unknown>, recordAs = policy.version): NewEvent[] {
  const id = randomUUID();
  const m = (n: number) => `${id.slice(0, -2)}${String(n).padStart(2, '0')}`;
  const say = (n: number, role: 'user' | 'assistant'): ConversationCommand => ({
    type: 'AppendMessage',
    data: { messageId: m(n), parentMessageId: n === 1 ? null : m(n - 1), role, content: `message ${n}` },
  });
  const commands: ConversationCommand[] = [
    {
      type: 'StartConversation',
      data: { conversationId: id, tenantId: 'acme', subjectId: 's-1', modelId: 'claude-opus-4-1' },
    },
    say(1, 'user'),
    say(2, 'assistant'),
    say(3, 'user'),
    say(4, 'assistant'),
    say(5, 'user'),
    { type: 'RecordRedirection', data: { messageId: m(2), harmCategory: 'ABUSE_OF_ASSISTANT' } },
    { type: 'RecordRedirection', data: { messageId: m(4), harmCategory: 'ABUSE_OF_ASSISTANT' } },
    { type: 'EndConversation', data: { atMessageId: m(5), ...end } as never },
  ];
  let state = initialState();
  const events: NewEvent[] = [];
  for (const command of commands) {
    for (const e of decide(command, state, policy)) {
      const eventId = randomUUID();
      state = evolve(state, { ...e, eventId, version: state.version + 1, occurredAt: AT } as RecordedConversationEvent);
      events.push({
        eventId,
        type: e.type,
        data: e.data as unknown as Record<string, unknown>,
        metadata: { tenantId: 'acme' },
        occurredAt: AT,
      });
    }
  }
  const last = events.at(-1)!;
  if (last.type !== 'ConversationEnded') throw new Error(`the end was not decided: ${JSON.stringify(last.data)}`);
  last.data = { ...last.data, policyVersion: recordAs };
  return events;
}

/** DOMAIN.md: compliance checks each end against its own version's reason codes, as stored. */
describe('Compliance across policy versions with different reason codes', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const ends: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    for (const policy of [storedV1, storedV2]) {
      const data = { version: policy.version, policy, sha256: policyDigest(policy) };
      await store.append(
        policyStreamId(policy.version),
        [{ eventId: randomUUID(), type: POLICY_VERSION_RECORDED, data, metadata: {}, occurredAt: AT }],
        {
          expectedVersion: 'no_stream',
        },
      );
    }
    const byOperator = { initiator: 'operator', reasonCode: 'OTHER_POLICY', explanation: 'ticket 9' };
    const spam = { initiator: 'model', reasonCode: 'SPAM_FLOOD' };
    const conversations = {
      otherPolicyUnderV1: endedConversation(POLICY_V1, byOperator),
      spamFloodUnderV2: endedConversation(V2, spam),
      otherPolicyRecordedAsV2: endedConversation(POLICY_V1, byOperator, 2),
      spamFloodRecordedAsV1: endedConversation(V2, spam, 1),
    };
    for (const [name, events] of Object.entries(conversations)) {
      await store.append(streamIdOf(events[0].data.conversationId as string), events, { expectedVersion: 'no_stream' });
      ends[name] = events.at(-1)!.eventId;
    }
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('keeps an end with a code a later version removed compliant; a code its version lacks is a finding', async () => {
    const { items, checkedEnds } = await checkCompliance(db.pool);
    expect(checkedEnds).toBe(4);
    expect(items.map((item) => [item.endEventId, item.policyVersion, item.reasonCode, item.failedGuards])).toEqual([
      [ends.otherPolicyRecordedAsV2, 2, 'OTHER_POLICY', ['REASON_NOT_ALLOWED']],
      [ends.spamFloodRecordedAsV1, 1, 'SPAM_FLOOD', ['REASON_NOT_ALLOWED']],
    ]);
  });
});
