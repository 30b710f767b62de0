import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { loadConfig } from '@app/platform';
import { createApp } from '../src/app.factory';
import { as, startTestApp, TestApp, validated, versionOf } from './support/test-app';
import {
  abusiveThread,
  Client,
  path,
  say,
  startConversation,
  storedEvents,
  totalEvents,
  uuid,
} from './support/scenario';
import { testContentKeyFile } from '@app/testing';

const ID = uuid(0x1d);

/** Idempotency-Key replays and If-Match preconditions (CONTRACT.md "Idempotency", "Optimistic concurrency"). */
describe('Retrying commands', () => {
  let t: TestApp;
  let writerKey: string;
  let writer: Client;

  beforeAll(async () => {
    t = await startTestApp();
    writerKey = await t.key('writer', 'acme');
    writer = as(t, writerKey);
    await startConversation(writer, ID);
    await say(writer, ID, uuid(1), null, 'user', 'Hello');
  });
  afterAll(() => t.close());

  const key = (k: string) => ({ 'Idempotency-Key': k });

  describe('with the same Idempotency-Key and body', () => {
    it('answers the first response again and appends nothing', async () => {
      const body = { messageId: uuid(2), parentMessageId: uuid(1), role: 'assistant', content: 'Hi there' };
      const first = await writer.post(path(ID, '/messages'), body, key('msg-2'));
      expect(first.status).toBe(201);
      const version = await versionOf(t, ID);
      expect(first.body).toEqual({ messageId: uuid(2), version, position: expect.any(String) });

      const again = await writer.post(path(ID, '/messages'), body, key('msg-2'));
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers.etag).toBe(first.headers.etag);
      expect(await versionOf(t, ID)).toBe(version);
    });

    it('answers the first response even after the conversation moved on', async () => {
      const body = { messageId: uuid(3), parentMessageId: uuid(2), role: 'user', content: 'Thanks' };
      const first = await writer.post(path(ID, '/messages'), body, key('msg-3'));
      await say(writer, ID, uuid(4), uuid(3), 'assistant', 'Anytime');
      const again = await writer.post(path(ID, '/messages'), body, key('msg-3'));
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(await versionOf(t, ID)).toBe(first.body.version + 1);
    });

    it('gives back the generated conversationId of a start without one', async () => {
      const body = { subjectId: 'subject-7', modelId: 'claude-opus-4-1' };
      const first = await writer.post('/v1/conversations', body, key('start-7'));
      expect(first.status).toBe(201);
      const before = await totalEvents(t);
      const again = await writer.post('/v1/conversations', body, key('start-7'));
      expect(again.status).toBe(201);
      expect(again.body).toEqual({
        conversationId: first.body.conversationId,
        version: 1,
        position: first.body.position,
      });
      expect(await totalEvents(t)).toBe(before);
    });

    it('answers a blocked end with the same 409 and records the attempt once', async () => {
      const id = uuid(0x2d);
      await startConversation(writer, id);
      const { u3 } = await abusiveThread(writer, id, 0);
      const body = { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: u3 };
      const first = await writer.post(path(id, '/end'), body, key('end-1'));
      expect(first.status).toBe(409);
      expect(first.body).toMatchObject({ code: 'END_BLOCKED', failedGuards: ['INSUFFICIENT_REDIRECTION'] });

      const again = await writer.post(path(id, '/end'), body, key('end-1'));
      expect(again.status).toBe(409);
      expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(again.body).toEqual(first.body);
      expect((await storedEvents(t, id)).filter((e) => e.type === 'EndAttemptBlocked')).toHaveLength(1);
    });

    it('answers two concurrent identical requests alike, appending once', async () => {
      const version = await versionOf(t, ID);
      const body = { rating: 'up', comment: 'double click' };
      const [a, b] = await Promise.all([0, 1].map(() => writer.post(path(ID, '/feedback'), body, key('concurrent-1'))));
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.body).toEqual(a.body);
      expect(await versionOf(t, ID)).toBe(version + 1);
    });

    it('keeps keys apart per tenant', async () => {
      const other = as(t, await t.key('writer', 'other-tenant'));
      const id = uuid(0x3d);
      await startConversation(other, id);
      const res = await other.post(
        path(id, '/messages'),
        { messageId: uuid(2), parentMessageId: null, role: 'user', content: 'Hi there' },
        key('msg-2'),
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ messageId: uuid(2), version: 2 });
    });
  });

  describe('with the same Idempotency-Key and another request', () => {
    it('refuses another body with 422 IDEMPOTENCY_KEY_REUSED, appending nothing', async () => {
      const before = await totalEvents(t);
      const res = await writer.post(
        path(ID, '/messages'),
        { messageId: uuid(2), parentMessageId: uuid(1), role: 'assistant', content: 'Hello!' },
        key('msg-2'),
      );
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await totalEvents(t)).toBe(before);
    });

    it('refuses the key on another route with 422 IDEMPOTENCY_KEY_REUSED', async () => {
      const before = await totalEvents(t);
      const res = await writer.post(path(ID, '/feedback'), { rating: 'up' }, key('msg-2'));
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const otherConversation = await writer.post(
        path(uuid(0x2d), '/messages'),
        { parentMessageId: null, role: 'user', content: 'Hi there' },
        key('msg-2'),
      );
      expect(otherConversation.status).toBe(422);
      expect(await totalEvents(t)).toBe(before);
    });

    it('refuses a malformed Idempotency-Key with 400', async () => {
      const res = await writer.post(path(ID, '/feedback'), { rating: 'up' }, key('x'.repeat(201)));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('after a restart', () => {
    let second: NestFastifyApplication;

    afterAll(() => second?.close());

    it('replays from a freshly started instance on the same database', async () => {
      const body = { rating: 'down', comment: 'rude' };
      const first = await writer.post(path(ID, '/feedback'), body, key('feedback-1'));
      expect(first.status).toBe(201);

      second = await createApp({
        config: loadConfig({ LOG_LEVEL: 'silent', CONTENT_KEY_FILE: testContentKeyFile() }),
        databaseUrl: t.db.runtimeUrl,
        logger: false,
      });
      await second.init();
      await second.getHttpAdapter().getInstance().ready();
      const version = await versionOf(t, ID);
      const again = await validated(request(second.getHttpServer()), t.openapi)
        .post(path(ID, '/feedback'))
        .set({ Authorization: `Bearer ${writerKey}`, ...key('feedback-1') })
        .send(body);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(await versionOf(t, ID)).toBe(version);
    });
  });

  describe('with If-Match', () => {
    it('appends when it names the current version, returning the new ETag', async () => {
      const current = await writer.get(path(ID));
      const res = await writer.post(
        path(ID, '/feedback'),
        { rating: 'up' },
        { 'If-Match': `"${current.body.version}"` },
      );
      expect(res.status).toBe(201);
      expect(res.headers.etag).toBe(`"${current.body.version + 1}"`);
    });

    it('refuses a stale version with 412 VERSION_CONFLICT, appending nothing', async () => {
      const version = await versionOf(t, ID);
      const res = await writer.post(
        path(ID, '/messages'),
        { parentMessageId: uuid(1), role: 'assistant', content: 'late' },
        { 'If-Match': `"${version - 1}"` },
      );
      expect(res.status).toBe(412);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 412, code: 'VERSION_CONFLICT', currentVersion: version });
      expect(await versionOf(t, ID)).toBe(version);
    });

    it('replays a retried request instead of answering 412', async () => {
      const version = await versionOf(t, ID);
      const headers = { 'If-Match': `"${version}"`, ...key('if-match-1') };
      const first = await writer.post(path(ID, '/feedback'), { rating: 'up' }, headers);
      expect(first.status).toBe(201);
      const again = await writer.post(path(ID, '/feedback'), { rating: 'up' }, headers);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(await versionOf(t, ID)).toBe(version + 1);
    });

    it.each(['"abc"', '"1", "2"', 'W/', '"-1"', '"1.5"'])(
      'refuses a malformed If-Match %p with 400, appending nothing',
      async (ifMatch) => {
        const version = await versionOf(t, ID);
        const res = await writer.post(path(ID, '/feedback'), { rating: 'up' }, { 'If-Match': ifMatch });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(await versionOf(t, ID)).toBe(version);
      },
    );
  });
});
