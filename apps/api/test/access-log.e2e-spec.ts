import type { AddressInfo } from 'node:net';
import { AccessEntry, createApiKey } from '@app/access';
import { comparePositions, PostgresEventStore } from '@app/event-store';
import { accessProjection, rebuildProjections } from '@app/projections';
import { AccessRecorder } from '../src/access-log/access-recorder';
import { seedConversation } from './support/audit-fixtures';
import { Client, path, say, startConversation, uuid } from './support/scenario';
import { openEventStream } from './support/sse-client';
import { as, startTestApp, TestApp } from './support/test-app';

const A = uuid(0xa1);
const B = uuid(0xb1);
const C = uuid(0xc1);
const ENDED_A = uuid(0xa2);
const ENDED_B = uuid(0xb2);

interface Caller {
  id: string;
  key: string;
  client: Client;
}

async function caller(t: TestApp, role: 'writer' | 'operator' | 'auditor' | 'admin', tenantId: string) {
  const { id, key } = await createApiKey(t.dataSource, { role, tenantId });
  return { id, key, client: as(t, key) } satisfies Caller;
}

/** The stored access entries of one request (the events themselves, as the store holds them). */
async function entriesOf(t: TestApp, requestId: string): Promise<(AccessEntry & { streamId: string })[]> {
  await t.app.get(AccessRecorder).writer.flush();
  const { rows } = await t.db.pool.query<{ stream_id: string; data: Omit<AccessEntry, 'at'>; occurred_at: Date }>(
    `SELECT stream_id, data, occurred_at FROM es_events
      WHERE stream_id LIKE 'access-%' AND data->>'requestId' = $1 ORDER BY data->>'tenantId'`,
    [requestId],
  );
  return rows.map((r) => ({ ...r.data, at: r.occurred_at.toISOString(), streamId: r.stream_id }));
}

/**
 * Every access entry stored so far is in rm_access: waits for the access projection to reach the
 * head (longer than ?waitFor='s 5 s when other test runs hold old transactions open on the server).
 */
async function settled(t: TestApp, projection = 'access'): Promise<string> {
  await t.app.get(AccessRecorder).writer.flush();
  const head = (await new PostgresEventStore(t.db.pool).headPosition())!;
  for (;;) {
    const { rows } = await t.db.pool.query('SELECT position FROM projection_checkpoints WHERE name = $1', [projection]);
    if (rows[0] && comparePositions(rows[0].position, head) >= 0) return head;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const get = (client: Client, url: string, requestId: string) => client.get(url).set('X-Request-Id', requestId);

describe('Who read what (access log)', () => {
  let t: TestApp;
  let writerA: Caller;
  let writerB: Caller;
  let writerC: Caller;
  let auditorA: Caller;
  let auditorB: Caller;
  let admin: Caller;

  beforeAll(async () => {
    t = await startTestApp();
    [writerA, writerB, writerC] = [
      await caller(t, 'writer', 'tenant-a'),
      await caller(t, 'writer', 'tenant-b'),
      await caller(t, 'writer', 'tenant-c'),
    ];
    auditorA = await caller(t, 'auditor', 'tenant-a');
    auditorB = await caller(t, 'auditor', 'tenant-b');
    admin = await caller(t, 'admin', '*');
    for (const [client, id] of [
      [writerA.client, A],
      [writerB.client, B],
      [writerC.client, C],
    ] as const) {
      await startConversation(client, id);
      await say(client, id, uuid(1), null, 'user', `hello from ${id}`);
    }
    const store = new PostgresEventStore(t.db.pool);
    const startedAt = '2026-03-01T10:00:00.000Z';
    await seedConversation(store, { conversationId: ENDED_A, tenantId: 'tenant-a', startedAt, endedAt: startedAt });
    await seedConversation(store, { conversationId: ENDED_B, tenantId: 'tenant-b', startedAt, endedAt: startedAt });
    // The ends lists, sample and export read the ends projection.
    await settled(t, 'ends');
  });
  afterAll(() => t.close());

  describe('each recorded route', () => {
    it('records a read of messages with key, role, tenant, route, conversation and request id', async () => {
      const before = Date.now();
      const res = await get(writerA.client, `${path(A.toUpperCase(), '/messages')}?tree=true`, 'read-messages-1');
      expect(res.status).toBe(200);
      const [entry, ...more] = await entriesOf(t, 'read-messages-1');
      expect(more).toEqual([]);
      expect(entry).toEqual({
        at: expect.any(String),
        keyId: writerA.id,
        role: 'writer',
        tenantId: 'tenant-a',
        route: '/v1/conversations/:id/messages',
        conversationIds: [A],
        filter: { tree: 'true' },
        requestId: 'read-messages-1',
        streamId: expect.stringMatching(/^access-tenant-a-\d+$/),
      });
      expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(before - 1000);
    });

    it.each([
      ['raw events', () => path(B, '/events'), '/v1/conversations/:id/events', 'tenant-b', [B]],
      [
        'the timeline',
        () => `/v1/audit/conversations/${ENDED_B}/timeline`,
        '/v1/audit/conversations/:id/timeline',
        'tenant-b',
        [ENDED_B],
      ],
      ['the sample', () => '/v1/audit/sample?seed=s1&tenantId=tenant-b', '/v1/audit/sample', 'tenant-b', [ENDED_B]],
      ['compliance', () => '/v1/audit/compliance?tenantId=tenant-b', '/v1/audit/compliance', 'tenant-b', []],
      ['the ends', () => '/v1/audit/ends?tenantId=tenant-b', '/v1/audit/ends', 'tenant-b', [ENDED_B]],
      ['blocked ends', () => '/v1/audit/blocked-ends?tenantId=tenant-b', '/v1/audit/blocked-ends', 'tenant-b', []],
    ])('records a * key reading %s under the tenant read', async (_name, url, route, tenantId, ids) => {
      const requestId = `read${route.replace(/[^a-z]/g, '-')}`;
      expect((await get(admin.client, url(), requestId)).status).toBe(200);
      expect(await entriesOf(t, requestId)).toEqual([
        expect.objectContaining({ keyId: admin.id, role: 'admin', tenantId, route, conversationIds: ids, requestId }),
      ]);
    });

    it('records an export page by page, one entry per tenant of the page', async () => {
      const res = await get(admin.client, '/v1/audit/export', 'read-export');
      expect(res.status).toBe(200);
      expect(res.text.trim().split('\n').at(-1)).toContain('"type":"manifest"');
      const entries = await entriesOf(t, 'read-export');
      expect(entries.map((e) => [e.tenantId, e.conversationIds, e.route])).toEqual([
        ['tenant-a', [ENDED_A], '/v1/audit/export'],
        ['tenant-b', [ENDED_B], '/v1/audit/export'],
      ]);
    });

    it('records a tenant auditor’s empty export under its own tenant, with the filter', async () => {
      expect((await get(auditorA.client, '/v1/audit/export?reasonCode=USER_REQUESTED', 'read-export-2')).status).toBe(
        200,
      );
      expect(await entriesOf(t, 'read-export-2')).toEqual([
        expect.objectContaining({
          keyId: auditorA.id,
          role: 'auditor',
          tenantId: 'tenant-a',
          conversationIds: [],
          filter: { reasonCode: 'USER_REQUESTED' },
        }),
      ]);
    });

    it('records a * key’s feed page as one entry per tenant read', async () => {
      expect((await get(admin.client, '/v1/events?limit=500', 'read-feed')).status).toBe(200);
      const entries = await entriesOf(t, 'read-feed');
      // Three tenants' conversations, and the API keys' events, which belong to no tenant.
      expect(entries.map((e) => e.tenantId)).toEqual(['*', 'tenant-a', 'tenant-b', 'tenant-c']);
      expect(entries.find((e) => e.tenantId === 'tenant-a')!.conversationIds.sort()).toEqual([A, ENDED_A].sort());
      expect(entries.find((e) => e.tenantId === 'tenant-c')!.conversationIds).toEqual([C]);
      expect(entries.find((e) => e.tenantId === '*')!.conversationIds).toEqual([]);
      expect(new Set(entries.map((e) => e.route))).toEqual(new Set(['/v1/events']));
    });

    it('records a tenant key’s feed page under its tenant only', async () => {
      expect((await get(auditorB.client, '/v1/events', 'read-feed-b')).status).toBe(200);
      expect(await entriesOf(t, 'read-feed-b')).toEqual([
        expect.objectContaining({ tenantId: 'tenant-b', conversationIds: [B, ENDED_B].sort() }),
      ]);
    });

    it('records each batch of the event stream before it is sent', async () => {
      await t.app.listen(0, '127.0.0.1');
      const port = (t.app.getHttpServer().address() as AddressInfo).port;
      const stream = openEventStream(port, auditorB.key, { 'x-request-id': 'read-sse' });
      try {
        expect((await stream.opened).statusCode).toBe(200);
        await stream.until(() => stream.ids.length > 0);
      } finally {
        stream.close();
      }
      expect(await entriesOf(t, 'read-sse')).toEqual([
        expect.objectContaining({
          keyId: auditorB.id,
          tenantId: 'tenant-b',
          route: '/v1/events/stream',
          conversationIds: [B, ENDED_B].sort(),
        }),
      ]);
    });

    it('does not record the thread status, which carries no content', async () => {
      expect((await get(writerA.client, path(A), 'read-status')).status).toBe(200);
      expect(await entriesOf(t, 'read-status')).toEqual([]);
    });

    it('does not record a refused read (another tenant’s conversation, in upper case)', async () => {
      expect((await get(writerA.client, path(B.toUpperCase(), '/messages'), 'read-refused')).status).toBe(404);
      expect(await entriesOf(t, 'read-refused')).toEqual([]);
    });
  });

  describe('GET /v1/audit/access', () => {
    it('lists entries newest first; reading the list is recorded too', async () => {
      const head = await settled(t);
      const res = await get(admin.client, `/v1/audit/access?keyId=${writerA.id.toUpperCase()}&waitFor=${head}`, 'list');
      expect(res.status).toBe(200);
      expect(res.body.items[0]).toEqual({
        at: expect.any(String),
        keyId: writerA.id,
        role: 'writer',
        tenantId: 'tenant-a',
        route: '/v1/conversations/:id/messages',
        conversationIds: [A],
        filter: { tree: 'true' },
        requestId: 'read-messages-1',
        eventId: expect.any(String),
        position: expect.any(String),
      });
      const ats = (res.body.items as { at: string }[]).map((i) => i.at);
      expect([...ats].sort().reverse()).toEqual(ats);
      expect(await entriesOf(t, 'list')).toEqual([
        expect.objectContaining({ keyId: admin.id, route: '/v1/audit/access', tenantId: 'tenant-a' }),
      ]);
    });

    it('shows a tenant auditor its tenant’s entries only, in any letter case of the conversation id', async () => {
      const head = await settled(t);
      const mine = await auditorB.client.get(`/v1/audit/access?conversationId=${B.toUpperCase()}&waitFor=${head}`);
      expect(mine.status).toBe(200);
      expect(mine.body.items.length).toBeGreaterThan(0);
      for (const item of mine.body.items) {
        expect(item.tenantId).toBe('tenant-b');
        expect(item.conversationIds).toContain(B);
      }
      const all = await auditorB.client.get(`/v1/audit/access?limit=500`);
      expect(new Set(all.body.items.map((i: { tenantId: string }) => i.tenantId))).toEqual(new Set(['tenant-b']));
      for (const id of [A, A.toUpperCase()]) {
        const theirs = await auditorB.client.get(`/v1/audit/access?conversationId=${id}`);
        expect(theirs.status).toBe(200);
        expect(theirs.body).toEqual({ items: [], nextCursor: null });
      }
      for (const tenantId of ['tenant-a', 'TENANT-A', 'TENANT-B']) {
        const otherTenant = await auditorB.client.get(`/v1/audit/access?tenantId=${tenantId}`);
        expect([tenantId, otherTenant.body]).toEqual([tenantId, { items: [], nextCursor: null }]);
      }
    });

    it('pages with a cursor, each entry once', async () => {
      const head = await settled(t);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await admin.client.get(
          `/v1/audit/access?limit=2&waitFor=${head}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((i: { eventId: string }) => i.eventId));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBeGreaterThan(5);
    });

    it('refuses writer and operator keys (403) and bad filters (400)', async () => {
      expect((await writerA.client.get('/v1/audit/access')).status).toBe(403);
      expect((await (await caller(t, 'operator', 'tenant-a')).client.get('/v1/audit/access')).status).toBe(403);
      for (const query of ['conversationId=nope', 'keyId=1', 'from=yesterday', 'limit=501', 'cursor=abc']) {
        expect((await admin.client.get(`/v1/audit/access?${query}`)).status).toBe(400);
      }
    });
  });

  describe('the feed', () => {
    it('leaves access streams out of /v1/events, for * and tenant keys', async () => {
      await settled(t);
      for (const client of [admin.client, auditorA.client]) {
        const res = await client.get('/v1/events?limit=500');
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeGreaterThan(0);
        expect(res.body.items.filter((e: { streamId: string }) => e.streamId.startsWith('access-'))).toEqual([]);
      }
      const { rows } = await t.db.pool.query(
        `SELECT count(*)::int AS n FROM es_events WHERE stream_id LIKE 'access-%'`,
      );
      expect(rows[0].n).toBeGreaterThan(10);
    });

    it('leaves access streams out of the event stream', async () => {
      const port = (t.app.getHttpServer().address() as AddressInfo).port;
      const { rows } = await t.db.pool.query<{ listed: string }>(
        `SELECT count(*)::text AS listed FROM es_events WHERE stream_id NOT LIKE 'access-%'`,
      );
      const stream = openEventStream(port, admin.key);
      try {
        await stream.until(() => stream.ids.length >= Number(rows[0].listed));
        const { rows: access } = await t.db.pool.query<{ position: string }>(
          `SELECT transaction_id::text || '-' || position::text AS position FROM es_events
            WHERE stream_id LIKE 'access-%'`,
        );
        const sent = new Set(stream.ids);
        expect(access.filter((a) => sent.has(a.position))).toEqual([]);
      } finally {
        stream.close();
      }
    });
  });

  describe('the access streams', () => {
    it('hold hash-chained events that verify, and a rebuild of rm_access gives the same rows', async () => {
      await settled(t);
      const store = new PostgresEventStore(t.db.pool);
      const streams = (await store.listStreams(null, 10_000)).filter((s) => s.startsWith('access-'));
      expect(streams.length).toBeGreaterThan(0);
      for (const streamId of streams) expect(await store.verifyStream(streamId)).toMatchObject({ valid: true });

      const head = await settled(t);
      await admin.client.get(`/v1/audit/access?waitFor=${head}`);
      const rows = async () =>
        (await t.db.pool.query('SELECT * FROM rm_access ORDER BY event_id')).rows as Record<string, unknown>[];
      const before = await rows();
      await rebuildProjections(t.db.pool, store, [accessProjection]);
      const after = await rows();
      // The rebuild may have read entries stored since; every earlier row is there, unchanged.
      expect(after.filter((r) => before.some((b) => b.event_id === r.event_id))).toEqual(before);
    });

    it('refuses another event type in an access stream (the database check)', async () => {
      const store = new PostgresEventStore(t.db.pool);
      const event = {
        eventId: uuid(0xdead),
        type: 'MessageAppended',
        data: {},
        metadata: {},
        occurredAt: '2026-01-01T00:00:00.000Z',
      };
      await expect(store.append('access-tenant-a-0', [event], { expectedVersion: 'any' })).rejects.toThrow(
        /es_events_access_stream/,
      );
    });
  });
});
