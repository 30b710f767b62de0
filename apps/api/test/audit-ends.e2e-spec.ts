import { walkPages } from './support/audit-fixtures';
import {
  abusiveThread,
  AuditTrail,
  Client,
  startConversation,
  THREAD,
  twoEndedConversations,
  uuid,
} from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

const A = uuid(0xa); // acme, model end ABUSE_OF_ASSISTANT, claude-opus-4-1
const B = uuid(0xb); // acme, model end USER_REQUESTED, claude-opus-4
const C = uuid(0xc); // acme, operator end OPERATOR_ACTION (after `middle`)
const D = uuid(0xd); // globex, model end ABUSE_OF_ASSISTANT
const E = uuid(0xe); // acme, blocked: INSUFFICIENT_REDIRECTION
const F = uuid(0xf); // acme, claude-sonnet-4, blocked: MODEL_NOT_END_CAPABLE
const G = uuid(0x10); // globex, blocked: INSUFFICIENT_REDIRECTION

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Item = Record<string, unknown>;
const ids = (items: Item[], field = 'conversationId') => items.map((i) => i[field]);

/** GET /v1/audit/ends and /blocked-ends, and who may call the audit API, over conversations run through the API. */
describe('Audit: ends and blocked ends', () => {
  let t: TestApp;
  let writer: Client;
  let auditorAll: Client;
  let auditorAcme: Client;
  let auditorGlobex: Client;
  let admin: Client;
  let operator: Client;
  let middle: string;
  const trail = new AuditTrail();
  const { endIds, end, get } = trail;

  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
    operator = as(t, await t.key('operator', 'acme'));
    const writerGlobex = as(t, await t.key('writer', 'globex'));
    auditorAll = as(t, await t.key('auditor', '*'));
    auditorAcme = as(t, await t.key('auditor', 'acme'));
    auditorGlobex = as(t, await t.key('auditor', 'globex'));
    admin = as(t, await t.key('admin', '*'));

    const seeded = await twoEndedConversations(writer, A, B);
    trail.add(seeded);

    await sleep(5);
    middle = new Date().toISOString();
    await sleep(5);

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

    await startConversation(writer, E);
    await abusiveThread(writer, E, 0);
    await end(writer, E, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' }, 409);
    await startConversation(writer, F, { modelId: 'claude-sonnet-4' });
    await abusiveThread(writer, F, 2);
    await end(writer, F, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' }, 409);
    await startConversation(writerGlobex, G);
    await abusiveThread(writerGlobex, G, 0);
    await end(writerGlobex, G, { initiator: 'model', reasonCode: 'HATE_OR_HARASSMENT_GENERATION' }, 409);
  });
  afterAll(() => t.close());

  describe('GET /v1/audit/ends', () => {
    it('lists every end to a key of all tenants, newest first, in the contract shape', async () => {
      const res = await get(auditorAll, '/v1/audit/ends');
      expect(res.status).toBe(200);
      expect(ids(res.body.items)).toEqual([D, C, B, A]);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.items[3]).toEqual({
        endEventId: endIds[A],
        conversationId: A,
        tenantId: 'acme',
        reasonCode: 'ABUSE_OF_ASSISTANT',
        initiator: 'model',
        modelId: 'claude-opus-4-1',
        policyVersion: 1,
        endedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        endedAtMessageId: THREAD.u3,
        redirectionCount: 2,
        reviewOutcome: null,
        version: expect.any(Number),
        position: expect.stringMatching(/^\d+-\d+$/),
      });
      const times = res.body.items.map((i: Item) => Date.parse(i.endedAt as string));
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('keeps a tenant key to its own tenant, and answers another tenant with an empty list', async () => {
      expect(ids((await get(auditorAcme, '/v1/audit/ends')).body.items)).toEqual([C, B, A]);
      const foreign = await get(auditorAcme, '/v1/audit/ends?tenantId=globex');
      expect(foreign.status).toBe(200);
      expect(foreign.body).toEqual({ items: [], nextCursor: null });
      expect(ids((await get(auditorAll, '/v1/audit/ends?tenantId=globex')).body.items)).toEqual([D]);
      expect(ids((await get(auditorGlobex, '/v1/audit/ends')).body.items)).toEqual([D]);
    });

    it.each([
      ['reasonCode=USER_REQUESTED', [B]],
      ['reasonCode=ABUSE_OF_ASSISTANT', [D, A]],
      ['initiator=operator', [C]],
      ['initiator=model', [D, B, A]],
      ['modelId=claude-opus-4', [B]],
      ['modelId=claude-opus-4-1', [D, C, A]],
      ['policyVersion=1', [D, C, B, A]],
      ['policyVersion=2', []],
      ['reviewOutcome=upheld', []],
      ['reasonCode=ABUSE_OF_ASSISTANT&tenantId=acme', [A]],
      ['initiator=model&modelId=claude-opus-4-1', [D, A]],
    ])('filters by %s', async (query, expected) => {
      const res = await get(auditorAll, `/v1/audit/ends?${query}`);
      expect(res.status).toBe(200);
      expect(ids(res.body.items)).toEqual(expected);
    });

    it('filters by time: from inclusive, to exclusive', async () => {
      expect(ids((await get(auditorAll, `/v1/audit/ends?from=${middle}`)).body.items)).toEqual([D, C]);
      expect(ids((await get(auditorAll, `/v1/audit/ends?to=${middle}`)).body.items)).toEqual([B, A]);
      const aEndedAt = (await get(auditorAll, '/v1/audit/ends?reasonCode=ABUSE_OF_ASSISTANT&tenantId=acme')).body
        .items[0].endedAt;
      expect(ids((await get(auditorAll, `/v1/audit/ends?from=${aEndedAt}&to=${middle}`)).body.items)).toEqual([B, A]);
      expect(ids((await get(auditorAll, `/v1/audit/ends?to=${aEndedAt}`)).body.items)).toEqual([]);
      expect(ids((await get(auditorAll, '/v1/audit/ends?from=2000-01-01&to=2000-01-02')).body.items)).toEqual([]);
    });

    it('pages with limit and cursor without duplicates or gaps', async () => {
      const pages = await walkPages<Item>((cursor) =>
        get(auditorAll, `/v1/audit/ends?limit=1${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(pages.map((p) => ids(p))).toEqual([[D], [C], [B], [A]]);
      const acme = await walkPages<Item>((cursor) =>
        get(auditorAcme, `/v1/audit/ends?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(acme.map((p) => ids(p))).toEqual([[C, B], [A]]);
      const filtered = await walkPages<Item>((cursor) =>
        get(auditorAll, `/v1/audit/ends?initiator=model&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(filtered.map((p) => ids(p))).toEqual([[D, B], [A]]);
    });

    it('pages oldest first with order=asc: every end once, in time order', async () => {
      const pages = await walkPages<Item>((cursor) =>
        get(auditorAll, `/v1/audit/ends?order=asc&limit=1${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(pages.map((p) => ids(p))).toEqual([[A], [B], [C], [D]]);
      const times = pages.flat().map((i) => i.endedAt as string);
      expect([...times].sort()).toEqual(times);
      const acme = await walkPages<Item>((cursor) =>
        get(auditorAcme, `/v1/audit/ends?order=asc&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(acme.map((p) => ids(p))).toEqual([[A, B], [C]]);
      const filtered = await walkPages<Item>((cursor) =>
        get(auditorAll, `/v1/audit/ends?initiator=model&order=asc&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(filtered.map((p) => ids(p))).toEqual([[A, B], [D]]);
      expect(ids((await get(auditorAll, '/v1/audit/ends?order=desc')).body.items)).toEqual([D, C, B, A]);
    });

    it('refuses a bad order, and a cursor of the other order', async () => {
      for (const order of ['sideways', 'ASC', '']) {
        const res = await get(auditorAll, `/v1/audit/ends?order=${order}`);
        expect([order, res.status, res.body.code]).toEqual([order, 400, 'VALIDATION_FAILED']);
      }
      const desc = (await get(auditorAll, '/v1/audit/ends?limit=1')).body.nextCursor as string;
      const asc = (await get(auditorAll, '/v1/audit/ends?order=asc&limit=1')).body.nextCursor as string;
      for (const url of [`/v1/audit/ends?order=asc&cursor=${desc}`, `/v1/audit/ends?cursor=${asc}`]) {
        const res = await get(auditorAll, url);
        expect([url, res.status, res.body.code]).toEqual([url, 400, 'VALIDATION_FAILED']);
      }
    });
  });

  describe('GET /v1/audit/blocked-ends', () => {
    it('lists blocked attempts newest first, with every failed guard', async () => {
      const res = await get(auditorAll, '/v1/audit/blocked-ends');
      expect(res.status).toBe(200);
      expect(ids(res.body.items)).toEqual([G, F, E]);
      expect(res.body.items[1]).toEqual({
        eventId: expect.any(String),
        conversationId: F,
        tenantId: 'acme',
        initiator: 'model',
        proposedReasonCode: 'ABUSE_OF_ASSISTANT',
        failedGuards: ['MODEL_NOT_END_CAPABLE'],
        atMessageId: THREAD.u3,
        modelId: 'claude-sonnet-4',
        policyVersion: 1,
        attemptedAt: expect.stringMatching(/^\d{4}-/),
      });
    });

    it.each([
      ['guard=MODEL_NOT_END_CAPABLE', [F]],
      ['guard=INSUFFICIENT_REDIRECTION', [G, E]],
      ['guard=SAFETY_RISK_OPEN', []],
      ['modelId=claude-sonnet-4', [F]],
      ['reasonCode=HATE_OR_HARASSMENT_GENERATION', [G]],
      ['reasonCode=USER_REQUESTED', []],
      ['guard=INSUFFICIENT_REDIRECTION&modelId=claude-opus-4-1', [G, E]],
      ['tenantId=globex', [G]],
    ])('filters by %s', async (query, expected) => {
      const res = await get(auditorAll, `/v1/audit/blocked-ends?${query}`);
      expect(res.status).toBe(200);
      expect(ids(res.body.items)).toEqual(expected);
    });

    it('filters by time and keeps tenants apart', async () => {
      expect(ids((await get(auditorAll, `/v1/audit/blocked-ends?from=${middle}`)).body.items)).toEqual([G, F, E]);
      expect(ids((await get(auditorAll, `/v1/audit/blocked-ends?to=${middle}`)).body.items)).toEqual([]);
      expect(ids((await get(auditorAcme, '/v1/audit/blocked-ends')).body.items)).toEqual([F, E]);
      expect((await get(auditorAcme, '/v1/audit/blocked-ends?tenantId=globex')).body).toEqual({
        items: [],
        nextCursor: null,
      });
    });

    it('pages with limit and cursor', async () => {
      const pages = await walkPages<Item>((cursor) =>
        get(auditorAll, `/v1/audit/blocked-ends?limit=1${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(pages.map((p) => ids(p))).toEqual([[G], [F], [E]]);
    });

    it('pages oldest first with order=asc, and refuses a bad order or a cursor of the other order', async () => {
      const pages = await walkPages<Item>((cursor) =>
        get(auditorAll, `/v1/audit/blocked-ends?order=asc&limit=1${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(pages.map((p) => ids(p))).toEqual([[E], [F], [G]]);
      const two = await walkPages<Item>((cursor) =>
        get(auditorAll, `/v1/audit/blocked-ends?order=asc&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(two.map((p) => ids(p))).toEqual([[E, F], [G]]);
      const bad = await get(auditorAll, '/v1/audit/blocked-ends?order=up');
      expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      const desc = (await get(auditorAll, '/v1/audit/blocked-ends?limit=1')).body.nextCursor as string;
      const crossed = await get(auditorAll, `/v1/audit/blocked-ends?order=asc&cursor=${desc}`);
      expect([crossed.status, crossed.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('roles', () => {
    const reads = [
      '/v1/audit/ends',
      '/v1/audit/blocked-ends',
      '/v1/audit/stats/ends',
      '/v1/audit/stats/blocked-ends?groupBy=guard',
      '/v1/audit/policies',
      '/v1/audit/compliance',
      '/v1/audit/sample',
      '/v1/audit/reviews/stats',
      '/v1/audit/export',
    ];

    it.each(reads)('refuses writers and operators on %s, and serves auditors and admins', async (url) => {
      for (const client of [writer, operator]) {
        const res = await client.get(url);
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('FORBIDDEN');
      }
      expect((await t.http().get(url)).status).toBe(401);
      expect((await get(auditorAcme, url)).status).toBe(200);
      expect((await get(admin, url)).status).toBe(200);
    });

    it('documents every audit endpoint in the OpenAPI document', async () => {
      const { body } = await t.http().get('/docs/openapi.json');
      const audit = Object.keys(body.paths)
        .filter((p) => p.startsWith('/v1/audit/'))
        .sort();
      expect(audit).toEqual([
        '/v1/audit/access',
        '/v1/audit/blocked-ends',
        '/v1/audit/compliance',
        '/v1/audit/conversations/{id}/reviews',
        '/v1/audit/conversations/{id}/timeline',
        '/v1/audit/ends',
        '/v1/audit/export',
        '/v1/audit/log/checkpoint',
        '/v1/audit/log/checkpoints',
        '/v1/audit/log/consistency',
        '/v1/audit/log/inclusion',
        '/v1/audit/log/verifier-key',
        '/v1/audit/policies',
        '/v1/audit/reviews/stats',
        '/v1/audit/sample',
        '/v1/audit/stats/blocked-ends',
        '/v1/audit/stats/ends',
      ]);
      const ends = body.paths['/v1/audit/ends'].get;
      expect(ends.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining([
          'reasonCode',
          'initiator',
          'modelId',
          'tenantId',
          'policyVersion',
          'reviewOutcome',
          'from',
          'to',
          'limit',
          'order',
          'cursor',
          'waitFor',
        ]),
      );
      const order = ends.parameters.find((p: { name: string }) => p.name === 'order');
      expect(order.schema).toMatchObject({ enum: ['desc', 'asc'], default: 'desc' });
      const blocked = body.paths['/v1/audit/blocked-ends'].get;
      expect(blocked.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['order']));
      expect(Object.keys(ends.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
    });

    it('refuses a writer on the timeline and on reviews', async () => {
      expect((await writer.get(`/v1/audit/conversations/${A}/timeline`)).status).toBe(403);
      const res = await writer.post(`/v1/audit/conversations/${A}/reviews`, {
        endEventId: endIds[A],
        outcome: 'upheld',
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });
  });
});
