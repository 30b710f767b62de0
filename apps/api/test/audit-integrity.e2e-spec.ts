import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
import { streamIdOf } from '@app/conversation';
import { seedConversation, walkPages } from './support/audit-fixtures';
import { abusiveThread, Client, path, startConversation, THREAD, uuid } from './support/scenario';
import { as, startTestApp, TestApp, versionOf } from './support/test-app';

const HEALTHY = uuid(0x501); // acme, ended by the rules
const BROKEN = uuid(0x502); // acme, ended straight through the store with no redirection
const UNKNOWN_POLICY = uuid(0x503); // globex, ended under a policy version nobody knows
const TAMPERED = uuid(0x504);
const TRUNCATED = uuid(0x505);

type Item = Record<string, unknown>;

/** Compliance re-checks from the log, and timelines with their hash chain verified. */
describe('Audit: compliance and timelines', () => {
  let t: TestApp;
  let store: PostgresEventStore;
  let writer: Client;
  let auditorAll: Client;
  let auditorAcme: Client;
  let auditorGlobex: Client;
  let position: string;
  const get = (client: Client, url: string) => client.get(`${url}${url.includes('?') ? '&' : '?'}waitFor=${position}`);

  /** A ConversationEnded appended behind the domain's back, as a faulty writer could. */
  const appendEnd = async (
    conversationId: string,
    tenantId: string,
    data: Record<string, unknown>,
    occurredAt = '2025-05-01T12:00:00.000Z',
  ) => {
    const endEventId = randomUUID();
    const result = await store.append(
      streamIdOf(conversationId),
      [
        {
          eventId: endEventId,
          type: 'ConversationEnded',
          data: {
            endedAtMessageId: THREAD.u3,
            initiator: 'model',
            reasonCode: 'ABUSE_OF_ASSISTANT',
            evidenceMessageIds: [],
            redirectionCount: 0,
            modelId: 'claude-opus-4-1',
            policyVersion: 1,
            automatedDetection: true,
            automatedDecision: true,
            ...data,
          },
          metadata: { tenantId, actor: { type: 'model', id: 'claude-opus-4-1' } },
          occurredAt,
        },
      ],
      { expectedVersion: await versionOf(t, conversationId) },
    );
    position = result.position;
    return endEventId;
  };

  beforeAll(async () => {
    t = await startTestApp();
    store = t.app.get(PostgresEventStore);
    writer = as(t, await t.key('writer', 'acme'));
    auditorAll = as(t, await t.key('auditor', '*'));
    auditorAcme = as(t, await t.key('auditor', 'acme'));
    auditorGlobex = as(t, await t.key('auditor', 'globex'));
    await startConversation(writer, HEALTHY);
    await abusiveThread(writer, HEALTHY, 2);
    const ended = await writer.post(path(HEALTHY, '/end'), {
      initiator: 'model',
      reasonCode: 'ABUSE_OF_ASSISTANT',
      atMessageId: THREAD.u3,
    });
    expect(ended.status).toBe(201);
    position = ended.body.position;
    for (let i = 0; i < 3; i++) {
      position = (
        await seedConversation(store, {
          conversationId: uuid(0x510 + i),
          tenantId: 'acme',
          startedAt: '2025-04-01T10:00:00Z',
          endedAt: '2025-04-01T10:30:00Z',
        })
      ).result.position;
    }
  });
  afterAll(() => t.close());

  describe('GET /v1/audit/compliance', () => {
    it('is empty while every end kept its rules', async () => {
      const res = await get(auditorAll, '/v1/audit/compliance');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], nextCursor: null, checkedEnds: 4 });
    });

    it('names an end appended against the rules, with the guards it fails', async () => {
      await startConversation(writer, BROKEN);
      await abusiveThread(writer, BROKEN, 0);
      const endEventId = await appendEnd(BROKEN, 'acme', {});
      const res = await get(auditorAll, '/v1/audit/compliance');
      expect(res.body.checkedEnds).toBe(5);
      expect(res.body.items).toEqual([
        {
          endEventId,
          conversationId: BROKEN,
          tenantId: 'acme',
          policyVersion: 1,
          reasonCode: 'ABUSE_OF_ASSISTANT',
          initiator: 'model',
          modelId: 'claude-opus-4-1',
          endedAt: '2025-05-01T12:00:00.000Z',
          version: await versionOf(t, BROKEN),
          position: expect.stringMatching(/^\d+-\d+$/),
          failedGuards: ['INSUFFICIENT_REDIRECTION'],
        },
      ]);
      // The same end is in the ends index: the projection trusts the log, the re-check does not.
      expect(
        (await get(auditorAll, `/v1/audit/ends?from=2025-05-01&to=2025-05-02`)).body.items.map(
          (e: Item) => e.endEventId,
        ),
      ).toEqual([endEventId]);
    });

    it('re-checks a second end on an already ended lineage and an end under an unknown policy version', async () => {
      const second = await appendEnd(HEALTHY, 'acme', { redirectionCount: 2 });
      const writerGlobex = as(t, await t.key('writer', 'globex'));
      await startConversation(writerGlobex, UNKNOWN_POLICY);
      await abusiveThread(writerGlobex, UNKNOWN_POLICY, 2);
      const unknown = await appendEnd(UNKNOWN_POLICY, 'globex', { policyVersion: 99, redirectionCount: 2 });
      const res = await get(auditorAll, '/v1/audit/compliance');
      const byEnd = Object.fromEntries(res.body.items.map((i: Item) => [i.endEventId, i.failedGuards]));
      expect(byEnd[second]).toEqual(['LINEAGE_ALREADY_ENDED']);
      expect(byEnd[unknown]).toEqual(['UNKNOWN_POLICY_VERSION']);
      expect(res.body.items).toHaveLength(3);
    });

    it('keeps a tenant key to its tenant', async () => {
      expect((await get(auditorAcme, '/v1/audit/compliance')).body.items.map((i: Item) => i.conversationId)).toEqual([
        BROKEN,
        HEALTHY,
      ]);
      expect((await get(auditorGlobex, '/v1/audit/compliance')).body.items.map((i: Item) => i.conversationId)).toEqual([
        UNKNOWN_POLICY,
      ]);
      expect((await get(auditorAcme, '/v1/audit/compliance?tenantId=globex')).body).toEqual({
        items: [],
        nextCursor: null,
        checkedEnds: 0,
      });
      expect((await get(auditorAll, '/v1/audit/compliance?tenantId=globex')).body.items).toHaveLength(1);
    });

    it("takes the filter bar's filters: the end's reason code, model, policy version and time", async () => {
      const later = await appendEnd(
        BROKEN,
        'acme',
        { reasonCode: 'SPAM_FLOOD', modelId: 'model-z', redirectionCount: 2 },
        '2025-06-02T08:00:00.000Z',
      );
      const ids = async (query: string, client = auditorAll) => {
        const res = await get(client, `/v1/audit/compliance?${query}`);
        expect(res.status).toBe(200);
        return res.body.items.map((i: Item) => i.conversationId as string);
      };
      const all = await ids('');
      expect(all).toHaveLength(4);
      const res = await get(auditorAll, '/v1/audit/compliance?from=2025-06-01&to=2025-07-01');
      expect(res.body).toMatchObject({ checkedEnds: 1, items: [{ endEventId: later, conversationId: BROKEN }] });
      expect(await ids('to=2025-06-01')).toEqual(all.filter((_: string, i: number) => i !== all.length - 1));
      expect(await ids('from=2025-05-01T12:00:00Z&to=2025-05-01T12:00:00.001Z')).toHaveLength(3);
      expect(await ids('from=2025-06-02T10:00:00%2B02:00&to=2025-06-02T08:00:00.001Z')).toEqual([BROKEN]);
      expect(await ids('reasonCode=SPAM_FLOOD')).toEqual([BROKEN]);
      expect(await ids('reasonCode=ABUSE_OF_ASSISTANT')).toHaveLength(3);
      expect(await ids('modelId=model-z')).toEqual([BROKEN]);
      expect(await ids('modelId=MODEL-Z')).toEqual([]);
      expect(await ids('policyVersion=99')).toEqual([UNKNOWN_POLICY]);
      expect(await ids('policyVersion=1&reasonCode=ABUSE_OF_ASSISTANT&tenantId=acme')).toEqual([BROKEN, HEALTHY]);
      expect(await ids('policyVersion=99', auditorAcme)).toEqual([]);
      expect(await ids('reasonCode=SPAM_FLOOD', auditorAcme)).toEqual([BROKEN]);
    });

    it('treats a tenant in other letter case as another tenant', async () => {
      expect((await get(auditorAll, '/v1/audit/compliance?tenantId=ACME')).body).toEqual({
        items: [],
        nextCursor: null,
        checkedEnds: 0,
      });
      expect((await get(auditorAcme, '/v1/audit/compliance?tenantId=Acme&reasonCode=SPAM_FLOOD')).body).toEqual({
        items: [],
        nextCursor: null,
        checkedEnds: 0,
      });
      expect(
        (await get(auditorAll, '/v1/audit/compliance?tenantId=acme&reasonCode=SPAM_FLOOD')).body.items,
      ).toHaveLength(1);
    });

    it.each([
      ['from=yesterday', 'from'],
      ['to=2025-02-30', 'to'],
      ['policyVersion=0', 'policyVersion'],
      ['policyVersion=1.5', 'policyVersion'],
      ['modelId=has%20space', 'modelId'],
      ['reasonCode=lower_case', 'reasonCode'],
      ['reviewOutcome=upheld', 'reviewOutcome'],
      ['initiator=model', 'initiator'],
    ])('refuses %s (400 VALIDATION_FAILED)', async (query, field) => {
      const res = await get(auditorAll, `/v1/audit/compliance?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(res.body)).toContain(field);
    });

    it('pages in log order with limit and cursor', async () => {
      const all = (await get(auditorAll, '/v1/audit/compliance')).body.items.map((i: Item) => i.endEventId);
      const pages = await walkPages((cursor) =>
        get(auditorAll, `/v1/audit/compliance?limit=1${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(pages.map((p) => p.map((i) => (i as Item).endEventId))).toEqual(all.map((id: string) => [id]));
    });
  });

  describe('GET /v1/audit/conversations/:id/timeline', () => {
    beforeAll(async () => {
      for (const id of [TAMPERED, TRUNCATED]) {
        await startConversation(writer, id);
        await abusiveThread(writer, id, 2);
      }
    });

    it('gives every event with position, time, actor and hash, and a valid chain', async () => {
      const res = await auditorAcme.get(`/v1/audit/conversations/${TAMPERED}/timeline`);
      expect(res.status).toBe(200);
      expect(res.body.conversationId).toBe(TAMPERED);
      expect(res.body.chain).toEqual({ valid: true });
      const events = (await auditorAcme.get(`/v1/conversations/${TAMPERED}/events?limit=500`)).body.items;
      expect(res.body.events).toEqual(events);
      expect(res.body.events.map((e: Item) => e.version)).toEqual(
        Array.from({ length: await versionOf(t, TAMPERED) }, (_, i) => i + 1),
      );
      expect(res.body.events[0]).toMatchObject({
        type: 'ConversationStarted',
        position: expect.stringMatching(/^\d+-\d+$/),
        metadata: { actor: { type: 'user', id: 'subject-1' }, tenantId: 'acme' },
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        prevHash: '0'.repeat(64),
      });
    });

    it('names the first tampered version once an event was changed in place', async () => {
      await t.db.pool.query('ALTER TABLE es_events DISABLE TRIGGER es_events_no_update');
      try {
        const { rowCount } = await t.db.pool.query(
          `UPDATE es_events SET data = jsonb_set(data, '{content}', '"I was polite all along."') ` +
            'WHERE stream_id = $1 AND stream_version = 4',
          [streamIdOf(TAMPERED)],
        );
        expect(rowCount).toBe(1);
      } finally {
        await t.db.pool.query('ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update');
      }
      const res = await auditorAcme.get(`/v1/audit/conversations/${TAMPERED}/timeline`);
      expect(res.status).toBe(200);
      expect(res.body.chain).toEqual({ valid: false, brokenAtVersion: 4, reason: 'content does not match its hash' });
      expect(res.body.events[3].data.content).toBe('I was polite all along.');
    });

    it('notices events removed from the end of a stream', async () => {
      const version = await versionOf(t, TRUNCATED);
      await t.db.pool.query('ALTER TABLE es_events DISABLE TRIGGER es_events_no_update');
      try {
        await t.db.pool.query('DELETE FROM es_events WHERE stream_id = $1 AND stream_version = $2', [
          streamIdOf(TRUNCATED),
          version,
        ]);
      } finally {
        await t.db.pool.query('ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update');
      }
      const res = await auditorAcme.get(`/v1/audit/conversations/${TRUNCATED}/timeline`);
      expect(res.body.events).toHaveLength(version - 1);
      expect(res.body.chain).toMatchObject({ valid: false, brokenAtVersion: version });
    });

    it("answers 404 for another tenant's conversation and for an unknown one", async () => {
      const foreign = await auditorGlobex.get(`/v1/audit/conversations/${HEALTHY}/timeline`);
      expect([foreign.status, foreign.body.code]).toEqual([404, 'NOT_FOUND']);
      const unknown = await auditorAll.get(`/v1/audit/conversations/${uuid(0xdead)}/timeline`);
      expect([unknown.status, unknown.body.code]).toEqual([404, 'NOT_FOUND']);
      expect((await auditorAll.get(`/v1/audit/conversations/${HEALTHY}/timeline`)).body.chain).toEqual({ valid: true });
    });
  });
});
