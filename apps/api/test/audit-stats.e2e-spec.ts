import { createHash } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
import { seedConversation, SeededEnd } from './support/audit-fixtures';
import { Client, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

// March 2025: the 3rd and the 10th are Mondays, the 9th a Sunday.
const MARCH: SeededEnd[] = [
  { conversationId: uuid(0x301), tenantId: 'acme', startedAt: '2025-03-03T09:00:00Z', endedAt: '2025-03-03T09:30:00Z' },
  { conversationId: uuid(0x302), tenantId: 'acme', startedAt: '2025-03-03T11:00:00Z' },
  {
    conversationId: uuid(0x303),
    tenantId: 'globex',
    modelId: 'claude-opus-4',
    startedAt: '2025-03-04T23:59:00Z',
    endedAt: '2025-03-05T00:10:00Z',
    reasonCode: 'USER_REQUESTED',
  },
  { conversationId: uuid(0x305), tenantId: 'acme', startedAt: '2025-03-09T23:00:00Z', endedAt: '2025-03-09T23:30:00Z' },
  {
    conversationId: uuid(0x304),
    tenantId: 'acme',
    startedAt: '2025-03-10T08:00:00Z',
    endedAt: '2025-03-10T09:00:00Z',
    reasonCode: 'OPERATOR_ACTION',
  },
];

// April: 30 acme ends for the sample, and 5 globex ones.
const APRIL: SeededEnd[] = Array.from({ length: 35 }, (_, i) => ({
  conversationId: uuid(0x400 + i),
  tenantId: i < 30 ? 'acme' : 'globex',
  startedAt: `2025-04-${String(1 + (i % 20)).padStart(2, '0')}T10:00:00Z`,
  endedAt: `2025-04-${String(1 + (i % 20)).padStart(2, '0')}T10:${String(10 + i).padStart(2, '0')}:00Z`,
}));

const bucket = (start: string, counts: Record<string, number>, conversationsStarted: number) => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    start,
    counts,
    total,
    conversationsStarted,
    ratePer1000: conversationsStarted ? Math.round((total / conversationsStarted) * 100_000) / 100 : null,
  };
};

describe('Audit: counts and samples', () => {
  let t: TestApp;
  let auditorAll: Client;
  let auditorAcme: Client;
  let position: string;
  const get = (client: Client, url: string) => client.get(`${url}${url.includes('?') ? '&' : '?'}waitFor=${position}`);

  beforeAll(async () => {
    t = await startTestApp();
    auditorAll = as(t, await t.key('auditor', '*'));
    auditorAcme = as(t, await t.key('auditor', 'acme'));
    const store = t.app.get(PostgresEventStore);
    for (const s of [...MARCH, ...APRIL]) position = (await seedConversation(store, s)).result.position;
  });
  afterAll(() => t.close());

  describe('GET /v1/audit/stats/ends', () => {
    const MARCH_RANGE = 'from=2025-03-01&to=2025-04-01';

    it('counts ends by reason per UTC day beside conversations started', async () => {
      const res = await get(auditorAll, `/v1/audit/stats/ends?${MARCH_RANGE}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        buckets: [
          bucket('2025-03-03', { ABUSE_OF_ASSISTANT: 1 }, 2),
          bucket('2025-03-04', {}, 1),
          bucket('2025-03-05', { USER_REQUESTED: 1 }, 0),
          bucket('2025-03-09', { ABUSE_OF_ASSISTANT: 1 }, 1),
          bucket('2025-03-10', { OPERATOR_ACTION: 1 }, 1),
        ],
      });
      expect(res.body.buckets[0].ratePer1000).toBe(500);
      expect(res.body.buckets[2].ratePer1000).toBeNull();
    });

    it('counts per ISO week, Monday to Sunday, by reason or by model', async () => {
      const byReason = await get(auditorAll, `/v1/audit/stats/ends?bucket=week&${MARCH_RANGE}`);
      expect(byReason.body.buckets).toEqual([
        bucket('2025-03-03', { ABUSE_OF_ASSISTANT: 2, USER_REQUESTED: 1 }, 4),
        bucket('2025-03-10', { OPERATOR_ACTION: 1 }, 1),
      ]);
      expect(byReason.body.buckets[0].ratePer1000).toBe(750);
      const byModel = await get(auditorAll, `/v1/audit/stats/ends?bucket=week&groupBy=modelId&${MARCH_RANGE}`);
      expect(byModel.body.buckets).toEqual([
        bucket('2025-03-03', { 'claude-opus-4-1': 2, 'claude-opus-4': 1 }, 4),
        bucket('2025-03-10', { 'claude-opus-4-1': 1 }, 1),
      ]);
    });

    it('counts the days that overlap [from, to)', async () => {
      const res = await get(auditorAll, '/v1/audit/stats/ends?from=2025-03-04T12:00:00Z&to=2025-03-09T00:00:01Z');
      expect(res.body.buckets.map((b: { start: string }) => b.start)).toEqual([
        '2025-03-04',
        '2025-03-05',
        '2025-03-09',
      ]);
      const none = await get(auditorAll, '/v1/audit/stats/ends?from=2025-03-06&to=2025-03-09');
      expect(none.body).toEqual({ buckets: [] });
    });

    it("keeps a tenant key to its tenant's counts", async () => {
      const acme = await get(auditorAcme, `/v1/audit/stats/ends?bucket=week&${MARCH_RANGE}`);
      expect(acme.body.buckets).toEqual([
        bucket('2025-03-03', { ABUSE_OF_ASSISTANT: 2 }, 3),
        bucket('2025-03-10', { OPERATOR_ACTION: 1 }, 1),
      ]);
      expect(acme.body.buckets[0].ratePer1000).toBe(666.67);
      expect((await get(auditorAcme, `/v1/audit/stats/ends?tenantId=globex&${MARCH_RANGE}`)).body).toEqual({
        buckets: [],
      });
      const globex = await get(auditorAll, `/v1/audit/stats/ends?tenantId=globex&bucket=week&${MARCH_RANGE}`);
      expect(globex.body.buckets).toEqual([bucket('2025-03-03', { USER_REQUESTED: 1 }, 1)]);
    });

    it('covers every day when no range is given', async () => {
      const res = await get(auditorAll, '/v1/audit/stats/ends?bucket=week');
      const total = res.body.buckets.reduce((n: number, b: { total: number }) => n + b.total, 0);
      expect(total).toBe(4 + APRIL.length);
    });
  });

  describe('GET /v1/audit/sample', () => {
    const md5Order = (seed: string, ids: string[]) =>
      [...ids].sort((a, b) => {
        const ha = createHash('md5')
          .update(seed + a)
          .digest('hex');
        const hb = createHash('md5')
          .update(seed + b)
          .digest('hex');
        return ha < hb ? -1 : ha > hb ? 1 : a < b ? -1 : 1;
      });

    it('gives the same sample for the same seed, ranked by md5(seed ‖ endEventId)', async () => {
      const first = await get(auditorAll, '/v1/audit/sample?reasonCode=ABUSE_OF_ASSISTANT&size=5&seed=q2-review');
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ seed: 'q2-review', size: 5, nextCursor: null });
      expect(first.body.items).toHaveLength(5);
      const again = await get(auditorAll, '/v1/audit/sample?reasonCode=ABUSE_OF_ASSISTANT&size=5&seed=q2-review');
      expect(again.body.items).toEqual(first.body.items);

      const all = await get(auditorAll, '/v1/audit/ends?reasonCode=ABUSE_OF_ASSISTANT&limit=500');
      const ids = all.body.items.map((e: { endEventId: string }) => e.endEventId);
      expect(ids).toHaveLength(2 + APRIL.length);
      expect(first.body.items.map((e: { endEventId: string }) => e.endEventId)).toEqual(
        md5Order('q2-review', ids).slice(0, 5),
      );
      expect(first.body.items.every((e: { reasonCode: string }) => e.reasonCode === 'ABUSE_OF_ASSISTANT')).toBe(true);
    });

    it('gives another sample for another seed', async () => {
      const a = await get(auditorAll, '/v1/audit/sample?size=5&seed=one');
      const b = await get(auditorAll, '/v1/audit/sample?size=5&seed=two');
      expect(a.body.items.map((e: { endEventId: string }) => e.endEventId)).not.toEqual(
        b.body.items.map((e: { endEventId: string }) => e.endEventId),
      );
    });

    it('samples per reason and within the tenant scope', async () => {
      const requested = await get(auditorAll, '/v1/audit/sample?reasonCode=USER_REQUESTED&size=10&seed=x');
      expect(requested.body.items.map((e: { conversationId: string }) => e.conversationId)).toEqual([uuid(0x303)]);
      const acme = await get(auditorAcme, '/v1/audit/sample?size=500&seed=x');
      expect(acme.body.items).toHaveLength(3 + 30);
      expect(new Set(acme.body.items.map((e: { tenantId: string }) => e.tenantId))).toEqual(new Set(['acme']));
      expect((await get(auditorAcme, '/v1/audit/sample?tenantId=globex&seed=x')).body.items).toEqual([]);
    });

    it('returns the generated seed when none is given, which reproduces the sample', async () => {
      const first = await get(auditorAll, '/v1/audit/sample?size=3');
      expect(first.body.seed).toMatch(/^[0-9a-f]{16}$/);
      expect(first.body.size).toBe(3);
      const again = await get(auditorAll, `/v1/audit/sample?size=3&seed=${first.body.seed}`);
      expect(again.body.items).toEqual(first.body.items);
    });

    it('refuses a size over 500', async () => {
      const res = await get(auditorAll, '/v1/audit/sample?size=501&seed=x');
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });
});
