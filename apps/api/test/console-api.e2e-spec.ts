import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, revokeApiKey } from '@app/access';
import { GUARD_CODES, V1_REASON_CODE_RULES } from '@app/conversation';
import { abusiveThread, AuditTrail, Client, startConversation, twoEndedConversations, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

const A = uuid(0xa); // acme, model end ABUSE_OF_ASSISTANT, claude-opus-4-1 (reviewed: overturned)
const B = uuid(0xb); // acme, model end USER_REQUESTED, claude-opus-4 (never reviewed)
const C = uuid(0xc); // acme, operator end OPERATOR_ACTION, claude-opus-4-1 (reviewed: upheld)
const D = uuid(0xd); // globex, model end ABUSE_OF_ASSISTANT, claude-opus-4-1 (never reviewed)
const E = uuid(0xe); // acme, claude-opus-4-1, blocked: INSUFFICIENT_REDIRECTION
const F = uuid(0xf); // acme, claude-sonnet-4, blocked: MODEL_NOT_END_CAPABLE
const G = uuid(0x10); // globex, claude-opus-4-1, HATE_OR_HARASSMENT_GENERATION blocked: INSUFFICIENT_REDIRECTION
const H = uuid(0x11); // acme, claude-sonnet-4, blocked: MODEL_NOT_END_CAPABLE and INSUFFICIENT_REDIRECTION

interface Bucket {
  start: string;
  counts: Record<string, number>;
  total: number;
  conversationsStarted: number;
}

/** The counts of every bucket added up, and the conversations started. */
const summed = (buckets: Bucket[]) => {
  const counts: Record<string, number> = {};
  for (const b of buckets) for (const [k, n] of Object.entries(b.counts)) counts[k] = (counts[k] ?? 0) + n;
  return { counts, started: buckets.reduce((n, b) => n + b.conversationsStarted, 0) };
};

const OTHER_TENANT = ['globex', 'GLOBEX', 'Globex', 'ACME', 'Acme'];

/** The API the auditor console reads: /v1/me, the new counts and filters, the policies. */
describe('Console API', () => {
  let t: TestApp;
  let writer: Client;
  let operator: Client;
  let auditorAll: Client;
  let auditorAcme: Client;
  let acmeKeyId: string;
  let afterEverything: string;
  const trail = new AuditTrail();
  const { endIds, end, get } = trail;

  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
    operator = as(t, await t.key('operator', 'acme'));
    const writerGlobex = as(t, await t.key('writer', 'globex'));
    auditorAll = as(t, await t.key('auditor', '*'));
    const acme = await createApiKey(t.dataSource, { role: 'auditor', tenantId: 'acme', label: 'q3 review' });
    acmeKeyId = acme.id;
    auditorAcme = as(t, acme.key);

    trail.add(await twoEndedConversations(writer, A, B));
    await startConversation(writer, C);
    await abusiveThread(writer, C, 0);
    await end(operator, C, { initiator: 'operator', reasonCode: 'OPERATOR_ACTION', explanation: 'threats' });
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
    await startConversation(writer, H, { modelId: 'claude-sonnet-4' });
    await abusiveThread(writer, H, 0);
    await end(writer, H, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' }, 409);

    for (const [id, outcome] of [
      [A, 'overturned'],
      [C, 'upheld'],
    ] as const) {
      const review = await auditorAll.post(`/v1/audit/conversations/${id}/reviews`, {
        endEventId: endIds[id],
        outcome,
      });
      expect(review.status).toBe(201);
      trail.position = review.body.position;
    }
    afterEverything = new Date().toISOString();
  });
  afterAll(() => t.close());

  describe('GET /v1/me', () => {
    it('answers any valid key with its id, role, tenant and label, never the key', async () => {
      const res = await auditorAcme.get('/v1/me');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ keyId: acmeKeyId, role: 'auditor', tenantId: 'acme', label: 'q3 review' });
      expect((await auditorAll.get('/v1/me')).body).toMatchObject({ role: 'auditor', tenantId: '*', label: null });
      expect((await writer.get('/v1/me')).body).toMatchObject({ role: 'writer', tenantId: 'acme' });
      expect((await operator.get('/v1/me')).body).toMatchObject({ role: 'operator' });
    });

    it('answers a missing or unknown key 401 UNAUTHENTICATED', async () => {
      for (const res of [
        await t.http().get('/v1/me'),
        await t.http().get('/v1/me').set('Authorization', 'Bearer not-a-key'),
      ]) {
        expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
      }
    });

    it('refuses any query parameter with 400 VALIDATION_FAILED', async () => {
      const res = await auditorAcme.get('/v1/me?tenantId=globex');
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('answers a revoked key 401 UNAUTHENTICATED', async () => {
      const { id, key } = await createApiKey(t.dataSource, { role: 'auditor', tenantId: 'acme' });
      const revokedSoon = as(t, key);
      expect((await revokedSoon.get('/v1/me')).status).toBe(200);
      await revokeApiKey(t.dataSource, id, { actor: 'test' });
      let res = await revokedSoon.get('/v1/me');
      for (let i = 0; i < 50 && res.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await revokedSoon.get('/v1/me');
      }
      expect([res.status, res.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    });
  });

  describe('GET /v1/audit/stats/ends, grouped and filtered', () => {
    const stats = async (client: Client, query: string) => {
      const res = await get(client, `/v1/audit/stats/ends?${query}`);
      expect(res.status).toBe(200);
      return summed(res.body.buckets);
    };

    it.each([
      ['groupBy=initiator', { model: 3, operator: 1 }],
      ['groupBy=reviewOutcome', { overturned: 1, upheld: 1, none: 2 }],
      ['groupBy=reasonCode', { ABUSE_OF_ASSISTANT: 2, USER_REQUESTED: 1, OPERATOR_ACTION: 1 }],
      ['groupBy=modelId', { 'claude-opus-4-1': 3, 'claude-opus-4': 1 }],
      ['reasonCode=ABUSE_OF_ASSISTANT&groupBy=modelId', { 'claude-opus-4-1': 2 }],
      ['initiator=model', { ABUSE_OF_ASSISTANT: 2, USER_REQUESTED: 1 }],
      ['initiator=operator&groupBy=initiator', { operator: 1 }],
      ['reviewOutcome=none', { ABUSE_OF_ASSISTANT: 1, USER_REQUESTED: 1 }],
      ['reviewOutcome=overturned&groupBy=initiator', { model: 1 }],
      ['reviewOutcome=upheld&groupBy=reviewOutcome', { upheld: 1 }],
      ['policyVersion=1&groupBy=initiator', { model: 3, operator: 1 }],
      ['policyVersion=2', {}],
      ['tenantId=globex&groupBy=reviewOutcome', { none: 1 }],
      ['tenantId=acme&initiator=model&groupBy=modelId', { 'claude-opus-4-1': 1, 'claude-opus-4': 1 }],
    ])('counts %s', async (query, expected) => {
      expect((await stats(auditorAll, query)).counts).toEqual(expected);
    });

    it('counts the conversations started of the tenant, and of the model when one is named', async () => {
      expect((await stats(auditorAll, 'groupBy=initiator')).started).toBe(8);
      expect((await stats(auditorAll, 'reasonCode=USER_REQUESTED')).started).toBe(8);
      expect((await stats(auditorAcme, 'groupBy=initiator')).started).toBe(6);
      expect(await stats(auditorAll, 'modelId=claude-opus-4')).toEqual({ counts: { USER_REQUESTED: 1 }, started: 1 });
      expect(await stats(auditorAll, 'modelId=claude-sonnet-4')).toEqual({ counts: {}, started: 2 });
      expect(await stats(auditorAcme, 'modelId=claude-opus-4-1&groupBy=initiator')).toEqual({
        counts: { model: 1, operator: 1 },
        started: 3,
      });
    });

    it('counts the whole UTC days that overlap [from, to), filtered or not', async () => {
      // afterEverything is later than every end of today: the day overlaps [from, …) all the same.
      const tomorrow = new Date(Date.parse(afterEverything) + 86_400_000).toISOString().slice(0, 10);
      const range = `from=${afterEverything}&to=${tomorrow}`;
      expect((await stats(auditorAll, `${range}&initiator=model`)).counts).toEqual({
        ABUSE_OF_ASSISTANT: 2,
        USER_REQUESTED: 1,
      });
      expect((await stats(auditorAll, `${range}&groupBy=reviewOutcome`)).counts).toEqual({
        overturned: 1,
        upheld: 1,
        none: 2,
      });
      expect((await stats(auditorAll, `to=${afterEverything.slice(0, 10)}&groupBy=initiator`)).counts).toEqual({});
      // The last day there is: its end is no bound PostgreSQL could read (year 10000), so none.
      for (const query of ['groupBy=initiator', 'modelId=claude-opus-4', 'reviewOutcome=none']) {
        const res = await get(auditorAll, `/v1/audit/stats/ends?to=9999-12-31T23:59:59Z&${query}`);
        expect([query, res.status]).toEqual([query, 200]);
        expect(summed(res.body.buckets).counts).toEqual((await stats(auditorAll, query)).counts);
      }
    });

    it('keeps a tenant key to its own tenant in any letter case of another', async () => {
      expect((await stats(auditorAcme, 'groupBy=initiator')).counts).toEqual({ model: 2, operator: 1 });
      expect((await stats(auditorAcme, 'groupBy=reviewOutcome')).counts).toEqual({
        overturned: 1,
        upheld: 1,
        none: 1,
      });
      for (const tenantId of OTHER_TENANT) {
        for (const groupBy of ['initiator', 'reviewOutcome', 'modelId']) {
          const res = await get(auditorAcme, `/v1/audit/stats/ends?tenantId=${tenantId}&groupBy=${groupBy}`);
          expect([tenantId, res.status, res.body]).toEqual([tenantId, 200, { buckets: [] }]);
        }
      }
      // A key of every tenant asking for ACME (no such tenant: ids are exact) sees nothing either.
      expect((await get(auditorAll, '/v1/audit/stats/ends?tenantId=ACME&groupBy=initiator')).body).toEqual({
        buckets: [],
      });
    });

    it.each(['groupBy=guard', 'groupBy=', 'groupBy=INITIATOR', 'reviewOutcome=pending', 'initiator=robot', 'limit=5'])(
      'refuses %s with 400 VALIDATION_FAILED',
      async (query) => {
        const res = await get(auditorAll, `/v1/audit/stats/ends?${query}`);
        expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      },
    );
  });

  describe('GET /v1/audit/stats/blocked-ends', () => {
    const blocked = (client: Client, query: string) => get(client, `/v1/audit/stats/blocked-ends?${query}`);

    it.each([
      [
        'groupBy=guard',
        4,
        [
          { key: 'INSUFFICIENT_REDIRECTION', count: 3 },
          { key: 'MODEL_NOT_END_CAPABLE', count: 2 },
        ],
      ],
      [
        'groupBy=modelId',
        4,
        [
          { key: 'claude-opus-4-1', count: 2 },
          { key: 'claude-sonnet-4', count: 2 },
        ],
      ],
      [
        'groupBy=reasonCode',
        4,
        [
          { key: 'ABUSE_OF_ASSISTANT', count: 3 },
          { key: 'HATE_OR_HARASSMENT_GENERATION', count: 1 },
        ],
      ],
      [
        'groupBy=guard&guard=MODEL_NOT_END_CAPABLE',
        2,
        [
          { key: 'MODEL_NOT_END_CAPABLE', count: 2 },
          { key: 'INSUFFICIENT_REDIRECTION', count: 1 },
        ],
      ],
      [
        'groupBy=modelId&guard=INSUFFICIENT_REDIRECTION',
        3,
        [
          { key: 'claude-opus-4-1', count: 2 },
          { key: 'claude-sonnet-4', count: 1 },
        ],
      ],
      ['groupBy=reasonCode&modelId=claude-sonnet-4', 2, [{ key: 'ABUSE_OF_ASSISTANT', count: 2 }]],
      ['groupBy=guard&reasonCode=HATE_OR_HARASSMENT_GENERATION', 1, [{ key: 'INSUFFICIENT_REDIRECTION', count: 1 }]],
      ['groupBy=guard&tenantId=globex', 1, [{ key: 'INSUFFICIENT_REDIRECTION', count: 1 }]],
      ['groupBy=guard&guard=SAFETY_RISK_OPEN', 0, []],
      ['groupBy=guard&to=2000-01-01', 0, []],
    ])('counts %s', async (query, total, items) => {
      const res = await blocked(auditorAll, query);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ groupBy: new URLSearchParams(query).get('groupBy'), total, items });
    });

    it('keeps a tenant key to its own tenant in any letter case of another', async () => {
      expect((await blocked(auditorAcme, 'groupBy=guard')).body).toEqual({
        groupBy: 'guard',
        total: 3,
        items: [
          { key: 'INSUFFICIENT_REDIRECTION', count: 2 },
          { key: 'MODEL_NOT_END_CAPABLE', count: 2 },
        ],
      });
      for (const tenantId of OTHER_TENANT) {
        const res = await blocked(auditorAcme, `groupBy=modelId&tenantId=${tenantId}`);
        expect([tenantId, res.status, res.body]).toEqual([tenantId, 200, { groupBy: 'modelId', total: 0, items: [] }]);
      }
    });

    it.each(['', 'groupBy=initiator', 'groupBy=GUARD', 'groupBy=guard&guard=NOT_A_GUARD', 'groupBy=guard&limit=5'])(
      'refuses "%s" with 400 VALIDATION_FAILED',
      async (query) => {
        const res = await blocked(auditorAll, query);
        expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      },
    );
  });

  describe('GET /v1/audit/policies', () => {
    it('lists the stored version with its reason codes and the rule of every guard', async () => {
      const res = await auditorAcme.get('/v1/audit/policies');
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(1);
      const [v1] = res.body.items;
      expect(v1).toMatchObject({
        version: 1,
        endCapableModels: ['claude-opus-4', 'claude-opus-4-1'],
        minRedirectionAttempts: 2,
        requireWarning: false,
      });
      expect(v1.reasonCodes).toEqual(V1_REASON_CODE_RULES.map((r) => ({ ...r, initiators: [...r.initiators] })));
      expect(v1.guards.map((g: { guard: string }) => g.guard)).toEqual([...GUARD_CODES]);
      expect(v1.guards[4]).toEqual({
        guard: 'INSUFFICIENT_REDIRECTION',
        rule:
          'At least 2 failed redirections must come before a model ends a conversation ' +
          '(unless the user asked to end it)',
      });
    });
  });

  describe('roles', () => {
    const routes = [
      '/v1/audit/stats/blocked-ends?groupBy=guard',
      '/v1/audit/policies',
      '/v1/audit/stats/ends?groupBy=initiator',
    ];

    it.each(routes)('refuses writers and operators on %s with 403, and no key with 401', async (url) => {
      for (const client of [writer, operator]) {
        const res = await client.get(url);
        expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      }
      expect((await t.http().get(url)).status).toBe(401);
    });
  });
});

describe('Console API: policy versions', () => {
  let t: TestApp;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-policy-'));
    const file = join(dir, 'v2.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 2,
        endCapableModels: ['claude-opus-4-1'],
        minRedirectionAttempts: 1,
        requireWarning: true,
        reasonCodes: [{ code: 'SPAM_FLOOD', meaning: 'spam', initiators: ['operator'], explanationRequired: false }],
      }),
    );
    t = await startTestApp({ POLICY_FILE: file });
  });
  afterAll(() => t.close());

  it('lists every stored version, newest first, each with its own values in the rules', async () => {
    const res = await as(t, await t.key('admin', '*')).get('/v1/audit/policies');
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { version: number }) => p.version)).toEqual([2, 1]);
    const rules = Object.fromEntries(
      res.body.items[0].guards.map((g: { guard: string; rule: string }) => [g.guard, g.rule]),
    );
    expect(rules.INSUFFICIENT_REDIRECTION).toMatch(/^At least 1 failed redirection must come before/);
    expect(rules.MODEL_NOT_END_CAPABLE).toBe('Only an end-capable model may end a conversation: claude-opus-4-1');
    expect(rules.REASON_NOT_ALLOWED).toMatch(/SPAM_FLOOD \(operator\)$/);
    expect(rules.NO_PRIOR_WARNING).toMatch(/^A model may end a conversation only after a warning/);
  });
});
