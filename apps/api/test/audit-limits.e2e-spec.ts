import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { AUDIT_POOL, PG_POOL } from '../src/database/database.providers';
import { AuditCapacity } from '../src/limits/audit-capacity';
import { seedConversation } from './support/audit-fixtures';
import { as, startTestApp, TestApp } from './support/test-app';
import { Client, uuid } from './support/scenario';
import { auditSnapshots, BIG_ENDS, bigEndTimes, stalledReader } from './support/stalled-export';

const BIG = 'x'.repeat(100_000);
const LONG = uuid(0x10c);

const until = async (done: () => boolean, what: string, ms = 20_000) => {
  for (const started = Date.now(); !done();) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

const untilTrue = async (done: () => Promise<boolean>, what: string, ms = 20_000) => {
  for (const started = Date.now(); !(await done());) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** Heavy audit reads run on a small pool of their own, capped, and a stalled export lets go. */
describe('Audit: limits', () => {
  let t: TestApp;
  let port: number;
  let auditor: Client;
  let auditorKey: string;
  let position: string;
  let auditPool: Pool;
  let capacity: AuditCapacity;
  const checkedOut = () => auditPool.totalCount - auditPool.idleCount;
  const openSnapshots = (stalledFor?: string) => auditSnapshots(t.db.pool, stalledFor);

  beforeAll(async () => {
    t = await startTestApp({ AUDIT_MAX_CONCURRENT: '1', AUDIT_POOL_SIZE: '2', EXPORT_IDLE_TIMEOUT_MS: '4000' });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    auditPool = t.app.get(AUDIT_POOL);
    capacity = t.app.get(AuditCapacity);
    auditorKey = await t.key('auditor', '*');
    auditor = as(t, auditorKey);
    const store = t.app.get(PostgresEventStore);
    for (let i = 0; i < BIG_ENDS; i++) {
      const seeded = await seedConversation(store, {
        conversationId: uuid(0xb00 + i),
        tenantId: 'acme',
        ...bigEndTimes(i),
        content: BIG,
      });
      position = seeded.result.position;
    }
    // One end whose conversation holds more events than one read of the export takes (32).
    position = (
      await seedConversation(store, {
        conversationId: LONG,
        tenantId: 'acme',
        messages: 71,
        startedAt: '2025-05-30T08:00:00Z',
        endedAt: '2025-05-30T09:00:00Z',
      })
    ).result.position;
  }, 120_000);
  afterAll(() => t.close());

  it('streams an end with more events than one read holds, byte for byte as one line', async () => {
    const res = await auditor.get(`/v1/audit/export?waitFor=${position}&from=2025-05-30T00:00:00Z`).buffer(true);
    expect(res.status).toBe(200);
    const [line] = res.text.split('\n');
    const parsed = JSON.parse(line);
    expect(line).toBe(JSON.stringify({ type: 'end', end: parsed.end, events: parsed.events }));
    const events = await auditor.get(`/v1/conversations/${LONG}/events?limit=500`);
    expect(parsed.events).toHaveLength(75);
    expect(parsed.events).toEqual(events.body.items);
  });

  it(
    'answers 503 BUSY with Retry-After to export, ' + 'timeline, compliance and sample while the cap is taken',
    async () => {
      const reader = stalledReader(port, `/v1/audit/export?waitFor=${position}`, auditorKey);
      try {
        expect(await reader.firstBytes).toMatch(/^HTTP\/1\.1 200/);
        expect(capacity.inUse).toBe(1);
        for (const path of [
          '/v1/audit/compliance',
          '/v1/audit/sample',
          `/v1/audit/conversations/${LONG}/timeline`,
          '/v1/audit/export',
        ]) {
          const res = await auditor.get(path);
          expect([path, res.status, res.body.code]).toEqual([path, 503, 'BUSY']);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        }
        // Reads that are not capped go on.
        expect((await auditor.get('/v1/audit/ends')).status).toBe(200);
      } finally {
        reader.socket.destroy();
      }
      await until(() => capacity.inUse === 0 && checkedOut() === 0, 'the export to let go');
      expect((await auditor.get('/v1/audit/compliance')).status).toBe(200);
    },
  );

  it('cuts off an export whose client stops reading, and its database connection comes back', async () => {
    const reader = stalledReader(port, `/v1/audit/export?waitFor=${position}`, auditorKey);
    expect(await reader.firstBytes).toMatch(/^HTTP\/1\.1 200/);
    // The export holds its connection and snapshot while the client does not read ...
    await untilTrue(
      async () => (await openSnapshots('500 milliseconds')) === 1 && checkedOut() === 1,
      'the export to stall',
    );
    // ... until the server gives up on it (EXPORT_IDLE_TIMEOUT_MS): the export lets go of both.
    await untilTrue(async () => (await openSnapshots()) === 0, 'the export to end its snapshot');
    await until(() => checkedOut() === 0, 'the audit connection to come back');
    expect(capacity.inUse).toBe(0);
    // The client, reading again, finds the connection closed and the export cut short.
    expect(await reader.rest()).not.toContain('"type":"manifest"');
  }, 30_000);

  it('cuts off a subject export whose client stops reading, and its snapshot and connection come back', async () => {
    // Every seeded conversation is subject-1's in acme: its export is the 50 MB of content above.
    const admin = await t.key('admin', 'acme');
    const pool = t.app.get<Pool>(PG_POOL);
    const busy = () => pool.totalCount - pool.idleCount;
    const subjectSnapshots = (stalledFor?: string) => auditSnapshots(t.db.pool, stalledFor, 'conversation-service');
    // The pool's connections in use before: the in-process projections hold theirs for good, and
    // now and then one more for a moment (a batch): the fewest seen over 200 ms.
    let idle = busy();
    for (let i = 0; i < 10; i++) {
      await new Promise((done) => setTimeout(done, 20));
      idle = Math.min(idle, busy());
    }
    const reader = stalledReader(port, '/v1/subjects/subject-1/export', admin);
    expect(await reader.firstBytes).toMatch(/^HTTP\/1\.1 200/);
    await untilTrue(async () => (await subjectSnapshots('500 milliseconds')) >= 1, 'the subject export to stall');
    expect(capacity.inUse).toBe(1);
    await until(() => busy() >= idle + 1, 'the stalled export to be seen holding a connection');
    // EXPORT_IDLE_TIMEOUT_MS later the server gives up: the snapshot ends, the connection and the cap come back.
    await untilTrue(async () => (await subjectSnapshots()) === 0, 'the subject export to end its snapshot');
    await until(() => busy() <= idle && capacity.inUse === 0, 'the connection and the cap to come back');
    expect(await reader.rest()).not.toContain('"type":"manifest"');
  }, 30_000);
});
