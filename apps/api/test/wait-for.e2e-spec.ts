import { as, startTestApp, TestApp } from './support/test-app';

/** Read-your-writes: every GET waits for the projections to reach ?waitFor=, at most 5 s. */
describe('?waitFor=', () => {
  let t: TestApp;
  let writer: ReturnType<typeof as>;
  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
  });
  afterAll(() => t.close());

  it('answers once the projections processed the position of a write', async () => {
    const started = await writer.post('/v1/conversations', { subjectId: 's-1', modelId: 'claude-opus-4-1' });
    const id = started.body.conversationId;
    const msg = await writer.post(`/v1/conversations/${id}/messages`, {
      parentMessageId: null,
      role: 'user',
      content: 'hi',
    });
    const res = await writer.get(`/v1/conversations/${id}?waitFor=${msg.body.position}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ messageCount: 1, version: msg.body.version });
    // The read model itself has caught up: its row is at the written version.
    const { rows } = await t.db.pool.query(
      'SELECT version::int AS version FROM rm_conversations WHERE conversation_id = $1',
      [id],
    );
    expect(rows[0].version).toBe(msg.body.version);
  });

  it('refuses a position beyond the head of the log with 400 at once, instead of holding the request', async () => {
    const written = await writer.post('/v1/conversations', { subjectId: 's-2', modelId: 'claude-opus-4-1' });
    const [tx, seq] = (written.body.position as string).split('-').map(BigInt);
    for (const beyond of ['99999999999-1', `${tx}-${seq + 1000n}`, `${tx + 1000n}-1`]) {
      const res = await writer.get(`/v1/conversations/${written.body.conversationId}?waitFor=${beyond}`);
      expect([beyond, res.status, res.body.code]).toEqual([beyond, 400, 'VALIDATION_FAILED']);
      expect(res.body.errors).toEqual([{ field: 'waitFor', messages: [expect.stringMatching(/head of the log/)] }]);
    }
  });

  describe('when the projections do not run', () => {
    let still: TestApp;
    beforeAll(async () => {
      still = await startTestApp({ PROJECTIONS_IN_PROCESS: 'false' });
    });
    afterAll(() => still.close());

    it('answers 503 WAIT_FOR_TIMEOUT for a written position not reached within 5 s', async () => {
      const stillWriter = as(still, await still.key('writer', 'acme'));
      const written = await stillWriter.post('/v1/conversations', { subjectId: 's-3', modelId: 'claude-opus-4-1' });
      const res = await stillWriter.get(
        `/v1/conversations/${written.body.conversationId}?waitFor=${written.body.position}`,
      );
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('WAIT_FOR_TIMEOUT');
    });
  });

  it('takes ?waitFor= on every kind of GET, whatever the query its route declares', async () => {
    const written = await writer.post('/v1/conversations', { subjectId: 's-4', modelId: 'claude-opus-4-1' });
    const { conversationId: id, position } = written.body;
    const auditor = as(t, await t.key('auditor', 'acme'));
    const admin = as(t, await t.key('admin', '*'));
    // A route with no query of its own refuses any other parameter: the interceptor took this one.
    expect((await auditor.get(`/v1/audit/conversations/${id}/timeline?waitFor=${position}`)).status).toBe(200);
    expect((await auditor.get(`/v1/audit/conversations/${id}/timeline?other=1`)).status).toBe(400);
    expect((await auditor.get(`/v1/audit/ends?waitFor=${position}&limit=1`)).status).toBe(200);
    expect((await writer.get(`/v1/conversations/${id}/messages?waitFor=${position}&limit=1`)).status).toBe(200);
    expect((await admin.get(`/metrics?waitFor=${position}`)).status).toBe(200);
    expect((await t.http().get(`/health?waitFor=${position}`)).status).toBe(200);
  });

  it('refuses a malformed or out-of-range position with 400', async () => {
    for (const bad of ['abc', '1-99999999999999999999', "1-1' OR 1=1"]) {
      const res = await writer.get(
        `/v1/conversations/00000000-0000-4000-8000-000000000001?waitFor=${encodeURIComponent(bad)}`,
      );
      expect([bad, res.status, res.body.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
    }
  });
});
