import { PostgresEventStore } from '@app/event-store';
import { seedConversation } from './support/audit-fixtures';
import { abusiveThread, Client, endAtU3, startConversation, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Values an attacker or a careless script might send: each must be a 400 or match nothing. */
const HOSTILE: string[] = [
  "' OR '1'='1",
  "x'; DROP TABLE rm_ends; --",
  '%',
  'claude%',
  '_',
  '\\',
  '"',
  'a\u0000b',
  '\u0000',
  'a'.repeat(5000),
  'ＡＢＵＳＥ',
  '-1',
  '1e309',
  '99999999999999999999',
  '2025-02-30',
  '0000-01-01',
  '0001-01-01T00:00:00+01:00',
  '9999-12-31T23:59:59-01:00',
  '2025-01-01T25:00:00Z',
  'now()',
  b64('garbage'),
  b64(['t', '2025-02-30T00:00:00.000000Z', uuid(1)]),
  b64(['t', '0000-01-01T00:00:00.000000Z', uuid(1)]),
  b64(['t', "2025-01-01T00:00:00.000000Z' OR 1=1", uuid(1)]),
  b64(['t', '2025-01-01T00:00:00.000000Z', "' OR 1=1 --"]),
  b64(['p', '99999999999999999999']),
  b64(['p', '1 OR 1=1']),
];

const PARAMS = [
  'reasonCode',
  'initiator',
  'modelId',
  'tenantId',
  'policyVersion',
  'reviewOutcome',
  'from',
  'to',
  'limit',
  'cursor',
  'guard',
  'seed',
  'size',
  'bucket',
  'groupBy',
  'waitFor',
  'conversationId',
  'keyId',
];

const ENDPOINTS = [
  '/v1/audit/ends',
  '/v1/audit/blocked-ends',
  '/v1/audit/sample',
  '/v1/audit/compliance',
  '/v1/audit/stats/ends',
  '/v1/audit/stats/blocked-ends?groupBy=guard',
  '/v1/audit/policies',
  '/v1/audit/reviews/stats',
  '/v1/audit/export',
  '/v1/audit/access',
];

/** True when the answer holds no row at all. */
function isEmpty(url: string, res: { text: string; body: Record<string, unknown> }): boolean {
  if (url.endsWith('/export')) {
    const lines = res.text.trim().split('\n');
    return lines.length === 1 && JSON.parse(lines[0]).count === 0;
  }
  if (url.includes('/stats/blocked-ends')) return res.body.total === 0 && (res.body.items as unknown[]).length === 0;
  if (url.endsWith('/stats/ends')) return Array.isArray(res.body.buckets) && res.body.buckets.length === 0;
  if (url.endsWith('/reviews/stats'))
    return ['byReasonCode', 'byModelId', 'byReviewer'].every((k) => (res.body[k] as unknown[]).length === 0);
  return Array.isArray(res.body.items) && res.body.items.length === 0;
}

describe('Audit: hostile query values', () => {
  let t: TestApp;
  let auditor: Client;

  beforeAll(async () => {
    t = await startTestApp();
    auditor = as(t, await t.key('auditor', '*'));
    const store = t.app.get(PostgresEventStore);
    const { result } = await seedConversation(store, {
      conversationId: uuid(0x51),
      tenantId: 'acme',
      startedAt: '2025-03-03T10:00:00Z',
      endedAt: '2025-03-03T10:05:00Z',
    });
    // And a blocked attempt, for the blocked-ends list and its counts.
    const writer = as(t, await t.key('writer', 'acme'));
    await startConversation(writer, uuid(0x52));
    await abusiveThread(writer, uuid(0x52), 0);
    const blocked = await endAtU3(writer, uuid(0x52), { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' }, 409);
    // Every list has rows, so a filter that leaked (matched everything) would show.
    const ready = await auditor.get(`/v1/audit/ends?waitFor=${result.position}`);
    expect(ready.body.items).toHaveLength(1);
    const near = await auditor.get(`/v1/audit/blocked-ends?waitFor=${blocked.position}`);
    expect(near.body.items).toHaveLength(1);
  });
  afterAll(() => t.close());

  describe.each(ENDPOINTS)('%s', (url) => {
    it.each(PARAMS)('answers every hostile %s with 400 VALIDATION_FAILED or an empty 200', async (param) => {
      const unexpected: string[] = [];
      for (const value of HOSTILE) {
        const res = await auditor.get(`${url}${url.includes('?') ? '&' : '?'}${param}=${encodeURIComponent(value)}`);
        // A seed is a label, not a filter: any accepted seed samples the one end there is.
        const sampled =
          url.endsWith('/sample') && param === 'seed' && res.status === 200 && res.body.items.length === 1;
        // The suite's own reads are recorded under the tenant they asked for: the access list filtered on
        // that tenant shows them, and only them (the filter matched exactly, nothing leaked).
        const ownReads =
          url.endsWith('/access') &&
          param === 'tenantId' &&
          res.status === 200 &&
          res.body.items.every((i: { tenantId: string }) => i.tenantId === value);
        const ok =
          res.status === 400
            ? res.body.code === 'VALIDATION_FAILED'
            : res.status === 200 && (isEmpty(url, res) || sampled || ownReads);
        if (!ok) unexpected.push(`${JSON.stringify(value.slice(0, 40))} → ${res.status} ${res.text.slice(0, 200)}`);
      }
      expect(unexpected).toEqual([]);
    });

    it('refuses unknown, repeated and bracketed parameters with 400', async () => {
      for (const query of [
        'colour=red',
        'limit=1&limit=2',
        'reasonCode[]=ABUSE_OF_ASSISTANT',
        'tenantId=acme&tenantId=globex',
      ]) {
        const res = await auditor.get(`${url}${url.includes('?') ? '&' : '?'}${query}`);
        expect([query, res.status, res.body.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
      }
      // The query-string parser drops prototype keys: answered as if absent.
      for (const query of ['__proto__=1', 'constructor[prototype][x]=1']) {
        const res = await auditor.get(`${url}${url.includes('?') ? '&' : '?'}${query}`);
        expect([query, res.status === 200 || res.status === 400]).toEqual([query, true]);
      }
    });
  });

  it('refuses a malformed conversation id on the timeline and on reviews', async () => {
    for (const id of ["1'%20OR%201=1", 'not-a-uuid', '%00']) {
      expect((await auditor.get(`/v1/audit/conversations/${id}/timeline`)).status).toBe(400);
      expect(
        (await auditor.post(`/v1/audit/conversations/${id}/reviews`, { endEventId: uuid(1), outcome: 'upheld' }))
          .status,
      ).toBe(400);
    }
  });

  it('answers a valid but unknown cursor with an empty page', async () => {
    const cursor = b64(['t', '1999-01-01T00:00:00.000000Z', uuid(1)]);
    expect((await auditor.get(`/v1/audit/ends?cursor=${cursor}`)).body).toEqual({ items: [], nextCursor: null });
    expect((await auditor.get(`/v1/audit/compliance?cursor=${b64(['p', '999999999'])}`)).body).toMatchObject({
      items: [],
      nextCursor: null,
    });
  });

  it('refuses a cursor of another list', async () => {
    const res = await auditor.get(`/v1/audit/compliance?cursor=${b64(['t', '2025-01-01T00:00:00.000000Z', uuid(1)])}`);
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
