import { request as httpRequest, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StoredEvent, verifyChain } from '@app/event-store';
import { as, startTestApp, TestApp } from './support/test-app';
import { Client, path, say, startConversation, uuid } from './support/scenario';

const A = uuid(0xa);
const B = uuid(0xb);
const HEX64 = /^[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Page {
  items: StoredEvent[];
  nextCursor: string | null;
}

/** Follows nextCursor until a page comes back empty or without a cursor. */
async function readAllPages(client: Client, url: string, param: string): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const res = await client.get(`${url}${cursor ? `&${param}=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const page = res.body as Page;
    all.push(...page.items);
    if (page.items.length === 0 || page.nextCursor === null) return all;
    cursor = page.nextCursor;
  }
  throw new Error('more than 100 pages');
}

/** The raw events, the commit-order feed and its Server-Sent Events form. */
describe('Reading events', () => {
  let t: TestApp;
  let writerA: Client;
  let writerB: Client;
  let auditorA: Client;
  let admin: Client;
  let adminKey: string;

  beforeAll(async () => {
    t = await startTestApp();
    writerA = as(t, await t.key('writer', 'tenant-a'));
    writerB = as(t, await t.key('writer', 'tenant-b'));
    auditorA = as(t, await t.key('auditor', 'tenant-a'));
    adminKey = await t.key('admin', '*');
    admin = as(t, adminKey);

    // Tenant A's events sit between runs of tenant B's, so some feed pages hold no A event.
    await writerA.post(
      '/v1/conversations',
      { conversationId: A, subjectId: 'subject-a', modelId: 'claude-opus-4-1' },
      {
        'Idempotency-Key': 'start-a',
        'X-Correlation-Id': 'corr-start-a',
        'X-Causation-Id': 'cause-1',
      },
    );
    await startConversation(writerB, B);
    await say(writerB, B, uuid(1), null, 'user', 'b1');
    await say(writerB, B, uuid(2), uuid(1), 'assistant', 'b2');
    await say(writerB, B, uuid(3), uuid(2), 'user', 'b3');
    await say(writerA, A, uuid(1), null, 'user', 'a1');
    await say(writerB, B, uuid(4), uuid(3), 'assistant', 'b4');
    await say(writerA, A, uuid(2), uuid(1), 'assistant', 'a2');
    await say(writerA, A, uuid(3), uuid(2), 'user', 'a3');
    // The feed holds an event back while an older transaction (e.g. a projection's) is open.
    // Besides the 9 conversation events, the log holds the keys' and the policy's own events
    // (and access entries, which the feed leaves out).
    const stored = Number(
      (
        await t.db.pool.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM es_events WHERE stream_id NOT LIKE 'access-%'",
        )
      ).rows[0].n,
    );
    for (let tries = 0; (await readAllPages(admin, '/v1/events?limit=500', 'cursor')).length < stored; tries++) {
      if (tries === 100) throw new Error(`the feed did not show the ${stored} events within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(() => t.close());

  describe('of one conversation', () => {
    it('gives every field, with metadata and a verifiable hash chain', async () => {
      const res = await auditorA.get(path(A, '/events'));
      expect(res.status).toBe(200);
      const [first, second] = res.body.items as (StoredEvent & { storedData?: Record<string, unknown> })[];
      expect(Object.keys(first).sort()).toEqual(
        [
          'data',
          'eventId',
          'hash',
          'metadata',
          'occurredAt',
          'position',
          'prevHash',
          'recordedAt',
          'streamId',
          'type',
          'version',
        ].sort(),
      );
      expect(first).toMatchObject({
        version: 1,
        type: 'ConversationStarted',
        streamId: `conversation-${A}`,
        data: { conversationId: A, tenantId: 'tenant-a', subjectId: 'subject-a', modelId: 'claude-opus-4-1' },
        metadata: {
          actor: { type: 'user', id: 'subject-a' },
          tenantId: 'tenant-a',
          correlationId: 'corr-start-a',
          causationId: 'cause-1',
          commandId: 'start-a',
        },
        occurredAt: expect.stringMatching(ISO),
        recordedAt: expect.stringMatching(ISO),
        position: expect.stringMatching(/^\d+-\d+$/),
        hash: expect.stringMatching(HEX64),
        prevHash: '0'.repeat(64),
      });
      expect(second).toMatchObject({
        version: 2,
        type: 'MessageAppended',
        prevHash: first.hash,
        metadata: { actor: { type: 'user' } },
      });
      expect(second.metadata.commandId).toBeUndefined();
      expect(second.metadata.correlationId).toEqual(expect.any(String));
      // Sealed content is answered opened; the chain covers the stored form.
      expect(second.data.content).toEqual(expect.any(String));
      expect(second.storedData?.content).toMatchObject({ enc: 'A256GCM' });
      const stored = res.body.items.map((e: { data: unknown; storedData?: unknown }) => ({
        ...e,
        data: e.storedData ?? e.data,
      }));
      expect(verifyChain(stored)).toEqual({ valid: true, count: 4 });
    });

    it('pages with limit and cursor, and ends with a null cursor', async () => {
      const first = await auditorA.get(path(A, '/events?limit=3'));
      expect(first.body.items.map((e: StoredEvent) => e.version)).toEqual([1, 2, 3]);
      expect(first.body.nextCursor).toBe('3');
      const second = await auditorA.get(path(A, `/events?limit=3&cursor=${first.body.nextCursor}`));
      expect(second.body).toEqual({ items: [expect.objectContaining({ version: 4 })], nextCursor: null });
      expect((await auditorA.get(path(A, '/events?cursor=nope'))).status).toBe(400);
      expect((await auditorA.get(path(A, '/events?limit=501'))).status).toBe(400);
    });
  });

  describe('of the whole store', () => {
    it('pages through every event in commit order', async () => {
      const { rows } = await t.db.pool.query<{ event_id: string }>(
        "SELECT event_id FROM es_events WHERE stream_id NOT LIKE 'access-%' ORDER BY transaction_id, position",
      );
      const events = await readAllPages(admin, '/v1/events?limit=3', 'cursor');
      expect(events.map((e) => e.eventId)).toEqual(rows.map((r) => r.event_id));
      expect(events.filter((e) => e.streamId.startsWith('conversation-'))).toHaveLength(9);
      const afterFifth = await admin.get(`/v1/events?after=${events[4].position}&limit=2`);
      expect(afterFifth.body).toEqual({ items: [events[5], events[6]], nextCursor: events[6].position });
    });

    it("shows a tenant's key only that tenant's events, without ending early", async () => {
      const events = await readAllPages(auditorA, '/v1/events?limit=2', 'cursor');
      expect(events.map((e) => [e.streamId, e.version])).toEqual([1, 2, 3, 4].map((v) => [`conversation-${A}`, v]));
    });

    it('refuses a malformed cursor', async () => {
      const res = await admin.get('/v1/events?after=DROP%20TABLE');
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('as Server-Sent Events', () => {
    let port: number;

    beforeAll(async () => {
      await t.app.listen(0, '127.0.0.1');
      port = (t.app.getHttpServer().address() as AddressInfo).port;
    });

    /** Opens the stream; `until` resolves once the predicate holds on what arrived. */
    function openStream(key: string, headers: Record<string, string> = {}) {
      const received: { id: string; event: string; data: StoredEvent }[] = [];
      let buffer = '';
      let check = () => undefined as void;
      let response: IncomingMessage | undefined;
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/v1/events/stream',
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers },
      });
      const opened = new Promise<IncomingMessage>((resolve, reject) => {
        req.on('response', (res) => {
          response = res;
          // The stream's body never ends: its status and content type are what can be checked.
          const answer = { method: 'GET', url: '/v1/events/stream', status: res.statusCode!, headers: res.headers };
          const violations = t.openapi.violations(answer);
          if (violations.length) return reject(new Error(violations.join('\n')));
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
              const fields = Object.fromEntries(
                buffer
                  .slice(0, end)
                  .split('\n')
                  .filter((l) => !l.startsWith(':'))
                  .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
              );
              buffer = buffer.slice(end + 2);
              if (fields.id) received.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
            }
            check();
          });
          resolve(res);
        });
        req.on('error', reject);
      });
      req.end();
      const until = (done: () => boolean, ms = 10_000) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`timed out with ${received.map((e) => e.id).join(', ')}`)),
            ms,
          );
          check = () => {
            if (done()) {
              clearTimeout(timer);
              resolve();
            }
          };
          check();
        });
      return { received, opened, until, close: () => (req.destroy(), response?.destroy()) };
    }

    it('delivers every event, then new ones as they are committed', async () => {
      const all = await readAllPages(admin, '/v1/events?limit=500', 'cursor');
      const stream = openStream(adminKey);
      try {
        const res = await stream.opened;
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        await stream.until(() => stream.received.length >= all.length);
        expect(stream.received.map((e) => e.id)).toEqual(all.map((e) => e.position));
        expect(stream.received[0]).toMatchObject({
          event: all[0].type,
          data: { eventId: all[0].eventId, hash: all[0].hash },
        });

        await say(writerA, A, uuid(4), uuid(3), 'assistant', 'live');
        await stream.until(() => stream.received.length === all.length + 1);
        expect(stream.received.at(-1)).toMatchObject({
          event: 'MessageAppended',
          data: { streamId: `conversation-${A}`, version: 5 },
        });
      } finally {
        stream.close();
      }
    });

    it('resumes after Last-Event-ID without repeating earlier events', async () => {
      const all = await readAllPages(admin, '/v1/events?limit=500', 'cursor');
      const stream = openStream(adminKey, { 'Last-Event-ID': all[4].position });
      try {
        await stream.until(() => stream.received.length >= all.length - 5);
        await say(writerB, B, uuid(5), uuid(4), 'user', 'after resume');
        await stream.until(() => stream.received.length === all.length - 5 + 1);
        expect(stream.received.slice(0, -1).map((e) => e.id)).toEqual(all.slice(5).map((e) => e.position));
        expect(stream.received.at(-1)?.data).toMatchObject({
          streamId: `conversation-${B}`,
          data: { messageId: uuid(5) },
        });
      } finally {
        stream.close();
      }
    });

    it('refuses a malformed Last-Event-ID with 400', async () => {
      const stream = openStream(adminKey, { 'Last-Event-ID': 'not-a-position' });
      const res = await stream.opened;
      expect(res.statusCode).toBe(400);
      stream.close();
    });
  });

  it('documents every conversation command, read and the events feed in /docs/openapi.json', async () => {
    const { body } = await t.http().get('/docs/openapi.json');
    const operations = Object.entries(body.paths as Record<string, object>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const c = '/v1/conversations/{id}';
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /v1/conversations',
        ...[
          'messages',
          'redirections',
          'warnings',
          'end-requests',
          'end',
          'feedback',
          'risk-flags',
          'risk-flags/{flagId}/clear',
        ].map((s) => `POST ${c}/${s}`),
        `GET ${c}`,
        `GET ${c}/messages`,
        `GET ${c}/events`,
        'GET /v1/events',
        'GET /v1/events/stream',
      ]),
    );
  });
});
