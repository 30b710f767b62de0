import { hashKey } from '@app/access';
import { abusiveThread, AuditTrail, Client, startConversation, twoEndedConversations, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

const A = uuid(0xa); // acme, model end ABUSE_OF_ASSISTANT, claude-opus-4-1
const B = uuid(0xb); // acme, model end USER_REQUESTED, claude-opus-4
const C = uuid(0xc); // acme, operator end OPERATOR_ACTION
const D = uuid(0xd); // globex, model end ABUSE_OF_ASSISTANT, never reviewed

type Item = Record<string, unknown>;
const ids = (items: Item[]) => items.map((i) => i.conversationId);

/** POST /v1/audit/conversations/:id/reviews through the command path, and GET /v1/audit/reviews/stats. */
describe('Audit: reviews of end decisions', () => {
  let t: TestApp;
  let writer: Client;
  let auditorAll: Client;
  let auditorAcme: Client;
  let auditorAcmeId: string;
  let auditorGlobex: Client;
  const trail = new AuditTrail();
  const { endIds, end, get } = trail;

  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
    const operator = as(t, await t.key('operator', 'acme'));
    const writerGlobex = as(t, await t.key('writer', 'globex'));
    auditorAll = as(t, await t.key('auditor', '*'));
    const acmeKey = await t.key('auditor', 'acme');
    auditorAcme = as(t, acmeKey);
    auditorAcmeId = (await t.db.pool.query('SELECT id FROM api_keys WHERE key_hash = $1', [hashKey(acmeKey)])).rows[0]
      .id;
    auditorGlobex = as(t, await t.key('auditor', 'globex'));

    const seeded = await twoEndedConversations(writer, A, B);
    trail.add(seeded);
    await startConversation(writer, C);
    await abusiveThread(writer, C, 0);
    await end(operator, C, {
      initiator: 'operator',
      reasonCode: 'OPERATOR_ACTION',
      explanation: 'threats against staff',
    });
    await startConversation(writerGlobex, D);
    await abusiveThread(writerGlobex, D, 2);
    await end(writerGlobex, D, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' });
  });
  afterAll(() => t.close());

  it('appends EndDecisionReviewed and shows the outcome in /ends and in the thread status', async () => {
    const res = await auditorAcme.post(`/v1/audit/conversations/${A}/reviews`, {
      endEventId: endIds[A],
      outcome: 'overturned',
      errorType: 'false_positive',
      note: 'the user was quoting a film',
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      reviewId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      version: expect.any(Number),
      position: expect.any(String),
    });
    expect(res.headers.etag).toBe(`"${res.body.version}"`);
    trail.position = res.body.position;

    const overturned = await get(auditorAll, '/v1/audit/ends?reviewOutcome=overturned');
    expect(ids(overturned.body.items)).toEqual([A]);
    expect(overturned.body.items[0].reviewOutcome).toBe('overturned');
    expect(ids((await get(auditorAll, '/v1/audit/ends?reviewOutcome=none')).body.items)).toEqual([D, C, B]);
    const status = await get(writer, `/v1/conversations/${A}`);
    expect(status.body.ends).toEqual([expect.objectContaining({ endEventId: endIds[A], reviewOutcome: 'overturned' })]);
    const events = await auditorAcme.get(`/v1/conversations/${A}/events?limit=500`);
    expect(events.body.items.at(-1)).toMatchObject({
      type: 'EndDecisionReviewed',
      data: {
        reviewId: res.body.reviewId,
        reviewerId: auditorAcmeId,
        endEventId: endIds[A],
        outcome: 'overturned',
        errorType: 'false_positive',
      },
      metadata: { actor: { type: 'auditor', id: auditorAcmeId }, tenantId: 'acme' },
    });
  });

  it('replays an Idempotency-Key with the first answer and appends nothing', async () => {
    const body = { endEventId: endIds[B], outcome: 'upheld' };
    const first = await auditorAll.post(`/v1/audit/conversations/${B}/reviews`, body, {
      'Idempotency-Key': 'review-b-1',
    });
    const again = await auditorAll.post(`/v1/audit/conversations/${B}/reviews`, body, {
      'Idempotency-Key': 'review-b-1',
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const reused = await auditorAll.post(
      `/v1/audit/conversations/${B}/reviews`,
      { ...body, note: 'other' },
      { 'Idempotency-Key': 'review-b-1' },
    );
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    trail.position = first.body.position;
    const events = await auditorAll.get(`/v1/conversations/${B}/events?limit=500`);
    expect(events.body.items.filter((e: Item) => e.type === 'EndDecisionReviewed')).toHaveLength(1);
  });

  it('honours If-Match: a stale version is 412 and appends nothing', async () => {
    const res = await auditorAll.post(
      `/v1/audit/conversations/${D}/reviews`,
      { endEventId: endIds[D], outcome: 'upheld' },
      { 'If-Match': '"1"' },
    );
    expect([res.status, res.body.code]).toEqual([412, 'VERSION_CONFLICT']);
    const events = await auditorAll.get(`/v1/conversations/${D}/events?limit=500`);
    expect(events.body.items.filter((e: Item) => e.type === 'EndDecisionReviewed')).toEqual([]);
  });

  it('answers 404 for another tenant, 422 for an unknown end and 400 for a malformed review', async () => {
    const foreign = await auditorGlobex.post(`/v1/audit/conversations/${A}/reviews`, {
      endEventId: endIds[A],
      outcome: 'upheld',
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('NOT_FOUND');
    const unknown = await auditorAcme.post(`/v1/audit/conversations/${A}/reviews`, {
      endEventId: uuid(0x999),
      outcome: 'upheld',
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('UNKNOWN_END');
    for (const body of [
      { endEventId: endIds[A], outcome: 'reclassified' },
      { endEventId: endIds[A], outcome: 'dismissed' },
      { endEventId: 'nope', outcome: 'upheld' },
      { endEventId: endIds[A], outcome: 'upheld', note: 'a\u0000b' },
      { endEventId: endIds[A], outcome: 'upheld', reviewerId: 'someone-else' },
    ]) {
      const res = await auditorAcme.post(`/v1/audit/conversations/${A}/reviews`, body);
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect(
      (
        await auditorAcme.post(`/v1/audit/conversations/not-a-uuid/reviews`, {
          endEventId: endIds[A],
          outcome: 'upheld',
        })
      ).status,
    ).toBe(400);
  });

  it('gives overturn rates by reason, model and reviewer (GET /v1/audit/reviews/stats)', async () => {
    const reclassified = await auditorAcme.post(`/v1/audit/conversations/${C}/reviews`, {
      endEventId: endIds[C],
      outcome: 'reclassified',
      newReasonCode: 'OTHER_POLICY',
      errorType: 'wrong_reason',
    });
    expect(reclassified.status).toBe(201);
    trail.position = reclassified.body.position;
    const res = await get(auditorAll, '/v1/audit/reviews/stats');
    expect(res.status).toBe(200);
    const rate = (key: string, reviewed: number, upheld: number, overturned: number, reclassifiedN: number) => ({
      key,
      reviewed,
      upheld,
      overturned,
      reclassified: reclassifiedN,
      overturnRate: overturned / reviewed,
    });
    expect(res.body.byReasonCode).toEqual([
      rate('ABUSE_OF_ASSISTANT', 1, 0, 1, 0),
      rate('OPERATOR_ACTION', 1, 0, 0, 1),
      rate('USER_REQUESTED', 1, 1, 0, 0),
    ]);
    expect(res.body.byModelId).toEqual([rate('claude-opus-4', 1, 1, 0, 0), rate('claude-opus-4-1', 2, 0, 1, 1)]);
    expect(res.body.byReviewer).toEqual(expect.arrayContaining([rate(auditorAcmeId, 2, 0, 1, 1)]));
    expect(res.body.byReviewer).toHaveLength(2);
    const acme = await get(auditorGlobex, '/v1/audit/reviews/stats');
    expect(acme.body).toEqual({ byReasonCode: [], byModelId: [], byReviewer: [] });
    const future = await get(auditorAll, '/v1/audit/reviews/stats?from=2999-01-01');
    expect(future.body.byReasonCode).toEqual([]);
  });
});
