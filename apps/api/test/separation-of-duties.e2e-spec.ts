import { abusiveThread, Client, endAtU3, startConversation, storedEvents, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

const BY_ADMIN = uuid(0x5a);
const BY_ALICE = uuid(0x5b);

/** DOMAIN.md separation of duties: nobody reviews an end they recorded (409 SELF_REVIEW). */
describe('Reviews: separation of duties', () => {
  let t: TestApp;
  let admin: Client;
  let aliceOperator: Client;
  let aliceAuditor: Client;
  let bobAuditor: Client;
  const ends: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp();
    admin = as(t, await t.key('admin', '*', { holder: 'Root Admin' }));
    const writer = as(t, await t.key('writer', 'acme'));
    aliceOperator = as(t, await t.key('operator', 'acme', { holder: 'Alice Martin' }));
    aliceAuditor = as(t, await t.key('auditor', 'acme', { holder: 'alice martin' }));
    bobAuditor = as(t, await t.key('auditor', 'acme', { holder: 'Bob Stone' }));
    for (const id of [BY_ADMIN, BY_ALICE]) {
      await startConversation(writer, id);
      await abusiveThread(writer, id, 0);
    }
    const explained = { initiator: 'operator', reasonCode: 'OPERATOR_ACTION', explanation: 'threats against staff' };
    ends[BY_ADMIN] = (await endAtU3(admin, BY_ADMIN, explained)).endEventId;
    ends[BY_ALICE] = (await endAtU3(aliceOperator, BY_ALICE, explained)).endEventId;
  });
  afterAll(() => t.close());

  const review = (client: Client, id: string) =>
    client.post(`/v1/audit/conversations/${id}/reviews`, { endEventId: ends[id], outcome: 'upheld' });

  it('records the holder of the key beside the key id on the end', async () => {
    const end = (await storedEvents(t, BY_ALICE)).find((e) => e.type === 'ConversationEnded');
    expect(end?.metadata).toMatchObject({
      actor: { type: 'operator' },
      apiKeyId: expect.any(String),
      apiKeyHolder: 'Alice Martin',
    });
  });

  it('refuses a review with the API key that recorded the end: 409 SELF_REVIEW, nothing appended', async () => {
    const before = (await storedEvents(t, BY_ADMIN)).length;
    const res = await review(admin, BY_ADMIN);
    expect([res.status, res.body.code]).toEqual([409, 'SELF_REVIEW']);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await storedEvents(t, BY_ADMIN)).toHaveLength(before);
  });

  it('refuses a review by the same holder on another key, whatever the letter case of the name', async () => {
    const before = (await storedEvents(t, BY_ALICE)).length;
    const res = await review(aliceAuditor, BY_ALICE);
    expect([res.status, res.body.code, res.body.details]).toEqual([
      409,
      'SELF_REVIEW',
      { endEventId: ends[BY_ALICE], by: 'holder' },
    ]);
    expect(await storedEvents(t, BY_ALICE)).toHaveLength(before);
  });

  it('accepts a review by another person, and names the reviewer in the event', async () => {
    const res = await review(bobAuditor, BY_ALICE);
    expect(res.status).toBe(201);
    const reviewed = (await storedEvents(t, BY_ALICE)).at(-1);
    expect(reviewed).toMatchObject({
      type: 'EndDecisionReviewed',
      metadata: { actor: { type: 'auditor' }, apiKeyHolder: 'Bob Stone' },
    });
    expect((await review(aliceAuditor, BY_ADMIN)).status).toBe(201);
  });
});
