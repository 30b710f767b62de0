import { as, startTestApp, TestApp, versionOf } from './support/test-app';
import { Client, path, say, startConversation, totalEvents, uuid } from './support/scenario';

const A_CONVERSATION = uuid(0xa1);
const UNKNOWN = uuid(0xdead);
const PROBLEM = /^application\/problem\+json/;

/** API keys, roles and tenants (CONTRACT.md "Auth", "Roles", "Tenants"). */
describe('Access to the API', () => {
  let t: TestApp;
  let writerA: Client;
  let operatorA: Client;
  let auditorA: Client;
  let writerB: Client;
  let auditorB: Client;
  let admin: Client;

  beforeAll(async () => {
    t = await startTestApp();
    writerA = as(t, await t.key('writer', 'tenant-a'));
    operatorA = as(t, await t.key('operator', 'tenant-a'));
    auditorA = as(t, await t.key('auditor', 'tenant-a'));
    writerB = as(t, await t.key('writer', 'tenant-b'));
    auditorB = as(t, await t.key('auditor', 'tenant-b'));
    admin = as(t, await t.key('admin', '*'));
    await startConversation(writerA, A_CONVERSATION);
    await say(writerA, A_CONVERSATION, uuid(1), null, 'user', 'Hello');
  });
  afterAll(() => t.close());

  describe('without a valid key', () => {
    it.each([
      ['no Authorization header', undefined],
      ['an unknown key', 'Bearer csk_not-a-real-key'],
      ['a Basic credential', 'Basic dXNlcjpwYXNz'],
      ['an empty bearer', 'Bearer '],
    ])('answers 401 UNAUTHENTICATED for %s', async (_, authorization) => {
      const get = t.http().get(path(A_CONVERSATION));
      const post = t
        .http()
        .post(path(A_CONVERSATION, '/messages'))
        .send({ parentMessageId: null, role: 'user', content: 'x' });
      for (const req of [get, post]) {
        const res = authorization ? await req.set('Authorization', authorization) : await req;
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(PROBLEM);
        expect(res.body).toMatchObject({
          status: 401,
          code: 'UNAUTHENTICATED',
          title: 'Unauthorized',
          type: expect.any(String),
          detail: expect.any(String),
        });
      }
      expect(await versionOf(t, A_CONVERSATION)).toBe(2);
    });
  });

  describe('when the role does not allow the call', () => {
    it.each([
      [
        'an auditor starts a conversation',
        () => auditorA.post('/v1/conversations', { subjectId: 's', modelId: 'claude-opus-4-1' }),
      ],
      [
        'an auditor appends a message',
        () =>
          auditorA.post(path(A_CONVERSATION, '/messages'), {
            parentMessageId: uuid(1),
            role: 'assistant',
            content: 'x',
          }),
      ],
      [
        'a writer flags a risk',
        () => writerA.post(path(A_CONVERSATION, '/risk-flags'), { kind: 'self_harm', source: 'classifier' }),
      ],
      ['a writer clears a flag', () => writerA.post(path(A_CONVERSATION, `/risk-flags/${uuid(0xf1)}/clear`), {})],
      [
        'a writer ends as operator',
        () =>
          writerA.post(path(A_CONVERSATION, '/end'), {
            initiator: 'operator',
            reasonCode: 'OPERATOR_ACTION',
            explanation: 'x',
            atMessageId: uuid(1),
          }),
      ],
      ['a writer reads the raw events', () => writerA.get(path(A_CONVERSATION, '/events'))],
      ['a writer reads the event feed', () => writerA.get('/v1/events')],
      ['a writer scrapes metrics', () => writerA.get('/metrics')],
    ])('answers 403 FORBIDDEN when %s, and appends nothing', async (_, call) => {
      const before = await totalEvents(t);
      const res = await call();
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      expect(await totalEvents(t)).toBe(before);
    });

    it('lets an operator flag a risk and end as operator', async () => {
      const id = uuid(0xa2);
      await startConversation(operatorA, id);
      await say(operatorA, id, uuid(1), null, 'user', 'Hello');
      expect(
        (await operatorA.post(path(id, '/risk-flags'), { flagId: uuid(0xf1), kind: 'self_harm', source: 'operator' }))
          .status,
      ).toBe(201);
      expect((await operatorA.post(path(id, `/risk-flags/${uuid(0xf1)}/clear`), {})).status).toBe(201);
      const end = await operatorA.post(path(id, '/end'), {
        initiator: 'operator',
        reasonCode: 'OPERATOR_ACTION',
        explanation: 'staff',
        atMessageId: uuid(1),
      });
      expect(end.status).toBe(201);
    });
  });

  describe('across tenants', () => {
    it('answers 404, not 403, to a key of another tenant, exactly as for an unknown conversation', async () => {
      const calls: [string, (id: string) => ReturnType<Client['get']>][] = [
        ['status', (id) => writerB.get(path(id))],
        ['messages', (id) => writerB.get(path(id, '/messages'))],
        ['events', (id) => auditorB.get(path(id, '/events'))],
        [
          'append',
          (id) => writerB.post(path(id, '/messages'), { parentMessageId: uuid(1), role: 'assistant', content: 'x' }),
        ],
        ['feedback', (id) => writerB.post(path(id, '/feedback'), { rating: 'down' })],
        [
          'end',
          (id) =>
            writerB.post(path(id, '/end'), {
              initiator: 'model',
              reasonCode: 'ABUSE_OF_ASSISTANT',
              atMessageId: uuid(1),
            }),
        ],
      ];
      for (const [what, call] of calls) {
        const foreign = await call(A_CONVERSATION);
        const unknown = await call(UNKNOWN);
        expect({ what, status: foreign.status, code: foreign.body.code }).toEqual({
          what,
          status: 404,
          code: 'NOT_FOUND',
        });
        expect(foreign.body).toEqual({ ...unknown.body, detail: unknown.body.detail.replace(UNKNOWN, A_CONVERSATION) });
      }
      expect(await versionOf(t, A_CONVERSATION)).toBe(2);
    });

    it("answers a fork from another tenant's conversation as from an unknown one", async () => {
      const fork = (conversationId: string) =>
        writerB.post('/v1/conversations', {
          subjectId: 's',
          modelId: 'claude-opus-4-1',
          forkedFrom: { conversationId, messageId: uuid(1) },
        });
      const [foreign, unknown] = [await fork(A_CONVERSATION), await fork(UNKNOWN)];
      expect(foreign.status).toBe(422);
      expect(foreign.body).toEqual(unknown.body);
    });

    it('refuses a tenant key that starts a conversation for another tenant (403)', async () => {
      const res = await writerA.post('/v1/conversations', {
        subjectId: 's',
        modelId: 'claude-opus-4-1',
        tenantId: 'tenant-b',
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
      const own = await writerA.post('/v1/conversations', {
        subjectId: 's',
        modelId: 'claude-opus-4-1',
        tenantId: 'tenant-a',
      });
      expect(own.status).toBe(201);
    });

    it('requires a * admin key to name the tenant of a new conversation (400)', async () => {
      const before = await totalEvents(t);
      const res = await admin.post('/v1/conversations', { subjectId: 's', modelId: 'claude-opus-4-1' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'tenantId' }] });
      expect(await totalEvents(t)).toBe(before);

      const started = await admin.post('/v1/conversations', {
        conversationId: uuid(0xb1),
        subjectId: 's',
        modelId: 'claude-opus-4-1',
        tenantId: 'tenant-b',
      });
      expect(started.status).toBe(201);
      expect((await writerB.get(path(uuid(0xb1)))).body).toMatchObject({ tenantId: 'tenant-b', version: 1 });
      expect((await writerA.get(path(uuid(0xb1)))).status).toBe(404);
    });

    it('lets a * admin key read and write any tenant', async () => {
      expect((await admin.get(path(A_CONVERSATION))).body).toMatchObject({
        conversationId: A_CONVERSATION,
        tenantId: 'tenant-a',
      });
      expect((await admin.get(path(A_CONVERSATION, '/events'))).status).toBe(200);
      expect((await admin.post(path(A_CONVERSATION, '/feedback'), { rating: 'up' })).status).toBe(201);
    });
  });

  it('lets an auditor read status, messages and events of its tenant', async () => {
    expect((await auditorA.get(path(A_CONVERSATION))).body).toMatchObject({
      conversationId: A_CONVERSATION,
      status: 'active',
    });
    expect((await auditorA.get(path(A_CONVERSATION, '/messages'))).body.items).toHaveLength(1);
    const events = await auditorA.get(path(A_CONVERSATION, '/events'));
    expect(events.status).toBe(200);
    expect(events.body.items.map((e: { type: string }) => e.type).slice(0, 2)).toEqual([
      'ConversationStarted',
      'MessageAppended',
    ]);
  });

  describe('operations and documentation', () => {
    it('serves /health, /docs and /docs/openapi.json without a key', async () => {
      const health = await t.http().get('/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({
        status: 'ok',
        database: { status: 'up', privileges: 'least' },
        info: { database: { status: 'up' } },
      });
      const docs = await t.http().get('/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers['content-type']).toMatch(/text\/html/);
      const openapi = await t.http().get('/docs/openapi.json');
      expect(openapi.status).toBe(200);
      expect(openapi.body.openapi).toMatch(/^3\./);
    });

    it("answers a caller's X-Request-Id back (a plain token only), else a fresh UUID, refusals included", async () => {
      expect((await t.http().get('/health').set('X-Request-Id', 'trace-42.a_b')).headers['x-request-id']).toBe(
        'trace-42.a_b',
      );
      const unknown = await t.http().get('/v1/nothing-here').set('X-Request-Id', 'trace-43');
      expect([unknown.status, unknown.headers['x-request-id']]).toEqual([404, 'trace-43']);
      for (const hostile of ['two words', 'x'.repeat(129), 'a"b', '{"json":1}']) {
        expect((await t.http().get('/health').set('X-Request-Id', hostile)).headers['x-request-id']).toMatch(
          /^[0-9a-f-]{36}$/,
        );
      }
      const a = (await t.http().get('/health')).headers['x-request-id'];
      const b = (await t.http().get('/health')).headers['x-request-id'];
      expect(a).toMatch(/^[0-9a-f-]{36}$/);
      expect(a).not.toBe(b);
    });

    it('needs a key for /metrics', async () => {
      const res = await t.http().get('/metrics');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    });

    it('serves Prometheus text to an admin key (only: metrics.e2e-spec.ts)', async () => {
      const res = await as(t, await t.key('admin', '*')).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toMatch(/^# TYPE http_request_duration_seconds histogram$/m);
      expect(res.text).toMatch(
        /^http_request_duration_seconds_count\{[^}]*route="\/v1\/conversations\/:id\/messages"[^}]*\} [1-9]/m,
      );
      const appended = /^event_store_appended_events_total (\d+)$/m.exec(res.text);
      expect(Number(appended?.[1])).toBeGreaterThanOrEqual(2);
      expect(res.text).toMatch(/^# TYPE event_store_version_conflicts_total counter$/m);
      expect(res.text).toMatch(/^projection_lag_events\{projection="thread-status"\} \d+$/m);
      expect(res.text).toMatch(/^projection_lag_seconds\{projection="thread-status"\} [\d.e+-]+$/m);
    });
  });
});
