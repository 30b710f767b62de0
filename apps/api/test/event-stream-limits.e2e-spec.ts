import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { NewEvent, PostgresEventStore } from '@app/event-store';
import { createApiKey, revokeApiKey } from '@app/access';
import { SseConnections } from '../src/events/sse-connections';
import { as, startTestApp, TestApp } from './support/test-app';
import { say, startConversation, uuid } from './support/scenario';
import { openEventStream, SseClient } from './support/sse-client';
import { TcpProxy } from './support/tcp-proxy';

async function listen(t: TestApp): Promise<number> {
  await t.app.listen(0, '127.0.0.1');
  return (t.app.getHttpServer().address() as AddressInfo).port;
}

const until = async (done: () => boolean, what: string) => {
  for (let i = 0; !done(); i++) {
    if (i === 200) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

/** No key can hold the event stream open without bound: count, lifetime, revocation. */
describe('Event streams: limits', () => {
  describe('per key (SSE_MAX_PER_KEY=3)', () => {
    let t: TestApp;
    let port: number;
    let connections: SseConnections;
    const streams: SseClient[] = [];
    beforeAll(async () => {
      t = await startTestApp({ SSE_MAX_PER_KEY: '3' });
      port = await listen(t);
      connections = t.app.get(SseConnections);
    });
    afterEach(() => streams.splice(0).forEach((s) => s.close()));
    afterAll(() => t.close());

    it(
      'opens 3 of 50 streams on one key, ' + 'refuses 47 with 429 RATE_LIMITED, and frees a slot when one closes',
      async () => {
        const flooder = await createApiKey(t.dataSource, { role: 'auditor', tenantId: 'acme' });
        streams.push(...Array.from({ length: 50 }, () => openEventStream(port, flooder.key)));
        const responses = await Promise.all(streams.map((s) => s.opened));
        const open = streams.filter((_, i) => responses[i].statusCode === 200);
        const refused = streams.filter((_, i) => responses[i].statusCode === 429);
        expect([open.length, refused.length]).toEqual([3, 47]);
        const sample = responses.find((r) => r.statusCode === 429)!;
        expect(sample.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(sample.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        await refused[0].ended;
        expect(JSON.parse(refused[0].text())).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
        expect(connections.countOf(flooder.id)).toBe(3);

        // Another key is not affected; a closed stream gives its slot back.
        const another = await createApiKey(t.dataSource, { role: 'auditor', tenantId: 'acme' });
        const other = openEventStream(port, another.key);
        streams.push(other);
        expect((await other.opened).statusCode).toBe(200);
        open[0].close();
        await until(() => connections.countOf(flooder.id) === 2, 'the closed stream to free its slot');
        const again = openEventStream(port, flooder.key);
        streams.push(again);
        expect((await again.opened).statusCode).toBe(200);
      },
    );

    it("closeKey ends every open stream of that key, and only that key's", async () => {
      const revoked = await createApiKey(t.dataSource, { role: 'admin', tenantId: '*' });
      const kept = await createApiKey(t.dataSource, { role: 'admin', tenantId: '*' });
      const [a, b, c] = [revoked.key, revoked.key, kept.key].map((key) => openEventStream(port, key));
      streams.push(a, b, c);
      expect((await Promise.all([a, b, c].map((s) => s.opened))).map((r) => r.statusCode)).toEqual([200, 200, 200]);

      expect(connections.closeKey(revoked.id)).toBe(2);
      await Promise.all([a.ended, b.ended]);
      expect(connections.countOf(revoked.id)).toBe(0);

      const writer = as(t, await t.key('writer', 'acme'));
      const id = uuid(0xc1);
      await startConversation(writer, id);
      await c.until(() => c.ids.length >= 1, 30_000);
      expect(connections.countOf(kept.id)).toBe(1);
    });

    it("closes a key's open streams when the key is revoked (its NOTIFY), and only that key's", async () => {
      const revoked = await createApiKey(t.dataSource, { role: 'admin', tenantId: '*' });
      const kept = await createApiKey(t.dataSource, { role: 'admin', tenantId: '*' });
      const [a, b] = [revoked.key, kept.key].map((key) => openEventStream(port, key));
      streams.push(a, b);
      expect((await Promise.all([a, b].map((s) => s.opened))).map((r) => r.statusCode)).toEqual([200, 200]);

      await revokeApiKey(t.dataSource, revoked.id, { actor: 'test', reason: 'leaked' });
      await a.ended;
      expect(connections.countOf(revoked.id)).toBe(0);
      expect(connections.countOf(kept.id)).toBe(1);
      const again = openEventStream(port, revoked.key);
      streams.push(again);
      expect((await again.opened).statusCode).toBe(401);
    });
  });

  describe('lifetime (SSE_MAX_LIFETIME_MS=1000)', () => {
    let t: TestApp;
    let port: number;
    beforeAll(async () => {
      t = await startTestApp({ SSE_MAX_LIFETIME_MS: '1000' });
      port = await listen(t);
    });
    afterAll(() => t.close());

    it(
      'ends a stream after its maximum lifetime and frees ' + 'its slot (the client resumes with Last-Event-ID)',
      async () => {
        const key = await createApiKey(t.dataSource, { role: 'admin', tenantId: '*' });
        const stream = openEventStream(port, key.key);
        expect((await stream.opened).statusCode).toBe(200);
        expect(t.app.get(SseConnections).countOf(key.id)).toBe(1);
        await stream.ended;
        expect(t.app.get(SseConnections).countOf(key.id)).toBe(0);
      },
    );
  });

  describe("another tenant's events (filtered in SQL)", () => {
    const NOISE = 10_001;
    let t: TestApp;
    let proxy: TcpProxy;
    let port: number;
    let auditorA: ReturnType<typeof as>;
    let auditorAKey: string;
    let noiseBytes = 0;
    const A = uuid(0xa1);

    beforeAll(async () => {
      proxy = await TcpProxy.start(process.env.CS_TEST_ADMIN_URL!);
      t = await startTestApp({ PROJECTIONS_IN_PROCESS: 'false' }, { connectVia: (url) => proxy.urlFor(url) });
      port = await listen(t);
      // Tenant B's events first, straight into the store (not through the proxy), then A's.
      const store = new PostgresEventStore(t.db.pool);
      for (let done = 0; done < NOISE;) {
        const n = Math.min(1_000, NOISE - done);
        const events: NewEvent[] = Array.from({ length: n }, (_, i) => ({
          eventId: randomUUID(),
          type: 'NoiseRecorded',
          data: { n: done + i, pad: 'b'.repeat(400) },
          metadata: { tenantId: 'tenant-b' },
          occurredAt: '2025-06-01T00:00:00.000Z',
        }));
        await store.append(`noise-${done}`, events, { expectedVersion: 'no_stream' });
        done += n;
      }
      await store.close();
      const { rows } = await t.db.pool.query<{ bytes: string }>(
        'SELECT sum(octet_length(data::text))::text AS bytes FROM es_events',
      );
      noiseBytes = Number(rows[0].bytes);
      const writerA = as(t, await t.key('writer', 'tenant-a'));
      await startConversation(writerA, A);
      await say(writerA, A, uuid(1), null, 'user', 'a1');
      await say(writerA, A, uuid(2), uuid(1), 'assistant', 'a2');
      auditorAKey = await t.key('auditor', 'tenant-a');
      auditorA = as(t, auditorAKey);
      // Readers see an event once every older transaction of the cluster has ended (commit order).
      for (let visible = 0; visible < 3;) {
        const { rows } = await t.db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM es_events
            WHERE metadata->>'tenantId' = 'tenant-a' AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,
        );
        visible = rows[0].n;
        if (visible < 3) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }, 120_000);
    afterAll(async () => {
      await t.close();
      await proxy.close();
    });

    it("finds a tenant's events behind more than ten thousand of another tenant's", async () => {
      const res = await auditorA.get('/v1/events?limit=2');
      expect(res.status).toBe(200);
      expect(res.body.items.map((e: { streamId: string; version: number }) => [e.streamId, e.version])).toEqual([
        [`conversation-${A}`, 1],
        [`conversation-${A}`, 2],
      ]);
    });

    it("reads none of another tenant's events from the database, in the feed", async () => {
      proxy.bytesFromServer = 0;
      const res = await auditorA.get('/v1/events?limit=500');
      expect(res.body.items).toHaveLength(3);
      expect(noiseBytes).toBeGreaterThan(4_000_000);
      expect(proxy.bytesFromServer).toBeLessThan(100_000);
    });

    it("reads none of another tenant's events from the database, in the SSE stream", async () => {
      proxy.bytesFromServer = 0;
      const stream = openEventStream(port, auditorAKey);
      try {
        expect((await stream.opened).statusCode).toBe(200);
        await stream.until(() => stream.ids.length === 3, 30_000);
      } finally {
        stream.close();
      }
      expect(proxy.bytesFromServer).toBeLessThan(100_000);
    });
  });
});
