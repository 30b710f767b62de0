import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { AccessRecorder } from '../src/access-log/access-recorder';
import { Client, path, say, startConversation, uuid } from './support/scenario';
import { openEventStream } from './support/sse-client';
import { as, startTestApp, TestApp } from './support/test-app';

const A = uuid(0xa1);

/** Makes the store refuse access entries (as the owner, on this test's own database), or take them again. */
async function accessLogDown(t: TestApp, down: boolean): Promise<void> {
  if (down) {
    await t.db.pool.query(`CREATE OR REPLACE FUNCTION test_refuse_access() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.stream_id LIKE 'access-%' THEN RAISE EXCEPTION 'the access log is down (test)'; END IF;
        RETURN NEW;
      END $$`);
    await t.db.pool.query(
      `CREATE TRIGGER test_refuse_access BEFORE INSERT ON es_events FOR EACH ROW EXECUTE FUNCTION test_refuse_access()`,
    );
  } else {
    await t.db.pool.query(`DROP TRIGGER test_refuse_access ON es_events`);
  }
}

async function storedRequestIds(t: TestApp): Promise<string[]> {
  const { rows } = await t.db.pool.query<{ id: string }>(
    `SELECT data->>'requestId' AS id FROM es_events WHERE stream_id LIKE 'access-%' ORDER BY position`,
  );
  return rows.map((r) => r.id);
}

describe('The access log when the store cannot take entries', () => {
  let t: TestApp;
  let writer: Client;
  let auditorKey: string;

  beforeAll(async () => {
    // Room for two entries; a flush every 50 ms.
    t = await startTestApp({ ACCESS_LOG_BUFFER: '2', ACCESS_LOG_FLUSH_MS: '50' });
    writer = as(t, await t.key('writer', 'tenant-a'));
    auditorKey = await t.key('auditor', 'tenant-a');
    await startConversation(writer, A);
    await say(writer, A, uuid(1), null, 'user', 'hello');
  });
  afterAll(() => t.close());

  it('answers reads while entries fit, then 503 ACCESS_LOG_UNAVAILABLE; nothing answered goes unrecorded', async () => {
    const recorder = t.app.get(AccessRecorder);
    await accessLogDown(t, true);
    const read = (id: string) => writer.get(path(A, '/messages')).set('X-Request-Id', id);
    expect((await read('held-1')).status).toBe(200);
    expect((await read('held-2')).status).toBe(200);
    // A failed flush keeps its entries: the buffer stays full however often it is tried.
    await recorder.writer.flush();
    await recorder.writer.flush();
    expect(recorder.writer.held).toBe(2);

    const refused = await read('refused-1');
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({ status: 503, code: 'ACCESS_LOG_UNAVAILABLE' });
    expect(refused.body.items).toBeUndefined();
    // The other recorded routes fail closed alike; the thread status (no content) still answers.
    const auditor = as(t, auditorKey);
    for (const url of [path(A, '/events'), `/v1/audit/conversations/${A}/timeline`, '/v1/events', '/v1/audit/access']) {
      expect((await auditor.get(url)).status).toBe(503);
    }
    expect((await auditor.get('/v1/audit/export')).status).toBe(503);
    expect((await writer.get(path(A))).status).toBe(200);
    await t.app.listen(0, '127.0.0.1');
    const stream = openEventStream((t.app.getHttpServer().address() as AddressInfo).port, auditorKey);
    expect((await stream.opened).statusCode).toBe(503);
    stream.close();
    expect(await storedRequestIds(t)).toEqual([]);

    // The store is back: the held entries are stored, once each, and reads are answered again.
    await accessLogDown(t, false);
    await recorder.writer.flush();
    expect(recorder.writer.held).toBe(0);
    expect((await storedRequestIds(t)).sort()).toEqual(['held-1', 'held-2']);
    expect((await read('after-1')).status).toBe(200);
    await recorder.writer.flush();
    expect((await storedRequestIds(t)).sort()).toEqual(['after-1', 'held-1', 'held-2']);
  });
});

describe('The access log when an entry can never be stored', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ACCESS_LOG_BUFFER: '2', ACCESS_LOG_FLUSH_MS: '50' });
    // An integrity violation (SQLSTATE 23514) for the entries of requests `poison-…`, every time.
    await t.db.pool.query(`CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data->>'requestId' LIKE 'poison-%' THEN
          RAISE EXCEPTION 'never (test)' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await t.db.pool.query(
      `CREATE TRIGGER test_poison BEFORE INSERT ON es_events FOR EACH ROW EXECUTE FUNCTION test_poison()`,
    );
  });
  afterAll(() => t.close());

  it('quarantines it (logged, counted) and keeps answering recorded reads; the others are stored once', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error');
    try {
      const recorder = t.app.get(AccessRecorder);
      const writer = as(t, await t.key('writer', 'tenant-a'));
      await startConversation(writer, A);
      const read = (id: string) => writer.get(path(A, '/messages')).set('X-Request-Id', id);
      // Twice the buffer's room in entries that can never be stored, a good one among them.
      for (const id of ['poison-1', 'poison-2', 'good-1', 'poison-3', 'poison-4', 'good-2']) {
        expect([id, (await read(id)).status]).toEqual([id, 200]);
        await recorder.writer.flush();
      }
      expect(recorder.writer.held).toBe(0);
      expect((await read('good-3')).status).toBe(200);
      await recorder.writer.flush();
      expect((await storedRequestIds(t)).sort()).toEqual(['good-1', 'good-2', 'good-3']);
      const logged = errors.mock.calls.map(([m]) => String(m)).filter((m) => m.includes('quarantined'));
      expect(logged).toHaveLength(4);
      expect(logged[0]).toContain('tenant "tenant-a", route "/v1/conversations/:id/messages", request "poison-1"');
      const metrics = await as(t, await t.key('admin', '*')).get('/metrics');
      expect(metrics.text).toMatch(/^access_log_entries_quarantined_total 4$/m);
    } finally {
      errors.mockRestore();
    }
  });
});

describe('The access log at shutdown', () => {
  it('stores the entries still held when the application closes', async () => {
    // Flushes at most once a second: the read's entry is most likely still held at close.
    const t = await startTestApp({ ACCESS_LOG_FLUSH_MS: '1000' });
    try {
      const writer = as(t, await t.key('writer', 'tenant-a'));
      await startConversation(writer, A);
      for (let i = 0; i < 5; i++) {
        expect((await writer.get(path(A, '/messages')).set('X-Request-Id', `last-${i}`)).status).toBe(200);
      }
      await t.app.close();
      expect((await storedRequestIds(t)).sort()).toEqual(['last-0', 'last-1', 'last-2', 'last-3', 'last-4']);
    } finally {
      await t.db.drop();
    }
  });
});
