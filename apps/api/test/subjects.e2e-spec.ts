import { createHash, randomUUID } from 'node:crypto';
import { createApiKey, revokeApiKey } from '@app/access';
import { canonicalize } from 'json-canonicalize';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamIdOf } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { subjectStreamId } from '@app/privacy';
import { verifyInclusion } from '@app/tlog';
import { createSigningKeyFile } from '@app/transparency';
import { AccessRecorder } from '../src/access-log/access-recorder';
import { TransparencyLogService } from '../src/transparency-log/transparency-log.service';
import { abusiveThread, Client, path, say, startConversation, THREAD, uuid } from './support/scenario';
import { startAppOn } from './support/app-on';
import { as, httpOf, startTestApp, TestApp } from './support/test-app';

const SUBJECT = 'subj-e2e';
const A1 = uuid(0xa1);
const A2 = uuid(0xa2);
const B1 = uuid(0xb1);
const OTHER = uuid(0xa3);
interface EventItem {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}
type Caller = Client & { delete: (url: string) => ReturnType<Client['get']> };
const subjects = (subjectId: string, suffix: string) => `/v1/subjects/${encodeURIComponent(subjectId)}${suffix}`;

interface ExportLine {
  type: string;
  conversationId?: string;
  status?: Record<string, unknown>;
  messages?: { messageId: string; content: string | null; contentErased?: true }[];
  ends?: { endEventId: string; explanation?: string | null; contentErased?: true }[];
  notes?: { type: string; data: Record<string, unknown>; contentErased?: true }[];
  count?: number;
  sha256?: string;
  subjectId?: string;
  tenantId?: string;
}

/** The export's lines, its manifest checked against the bytes before it. */
function exportLines(text: string): ExportLine[] {
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  const manifest = JSON.parse(lines.at(-1)!) as ExportLine;
  const before = lines
    .slice(0, -1)
    .map((l) => `${l}\n`)
    .join('');
  expect(manifest.sha256).toBe(createHash('sha256').update(before, 'utf8').digest('hex'));
  return lines.map((l) => JSON.parse(l) as ExportLine);
}

/** CONTRACT "Subjects": erasure, legal holds and subject access over HTTP, as an admin and an auditor use them. */
describe('Subjects over HTTP', () => {
  let t: TestApp;
  let admin: Caller;
  let adminA: Caller;
  let adminB: Caller;
  let writerA: Caller;
  let writerB: Caller;
  let auditorA: Caller;
  let auditorB: Caller;

  /** Calls as one key, DELETE included. */
  const caller = async (role: 'admin' | 'writer' | 'auditor', tenantId: string): Promise<Caller> => {
    const key = await t.key(role, tenantId);
    return {
      ...as(t, key),
      delete: (url: string) =>
        t
          .http()
          .delete(url)
          .set({ Authorization: `Bearer ${key}` }),
    };
  };

  const head = async () => (await new PostgresEventStore(t.db.pool).headPosition())!;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'subjects-e2e-'));
    const keyFile = join(dir, 'key.pem');
    createSigningKeyFile(keyFile);
    t = await startTestApp({
      LOG_ORIGIN: 'e2e.example/subjects',
      SIGNING_KEY_FILE: keyFile,
      CHECKPOINT_DIR: join(dir, 'cp'),
    });
    admin = await caller('admin', '*');
    adminA = await caller('admin', 'tenant-a');
    adminB = await caller('admin', 'tenant-b');
    writerA = await caller('writer', 'tenant-a');
    writerB = await caller('writer', 'tenant-b');
    auditorA = await caller('auditor', 'tenant-a');
    auditorB = await caller('auditor', 'tenant-b');
  });
  afterAll(() => t.close());

  describe('who may ask, and about which tenant', () => {
    it('refuses a * key without tenantId, a tenant key naming another tenant and keys that are not admin', async () => {
      const body = { reason: 'request' };
      const noTenant = [
        await admin.post(subjects('s', '/erasure'), body),
        await admin.post(subjects('s', '/holds'), body),
        await admin.delete(subjects('s', `/holds/${uuid(1)}`)),
        await admin.get(subjects('s', '/holds')),
        await admin.get(subjects('s', '/export')),
      ];
      for (const res of noTenant) {
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'tenantId' }] });
      }
      const otherTenant = [
        await adminA.post(subjects('s', '/erasure'), { ...body, tenantId: 'tenant-b' }),
        await adminA.post(subjects('s', '/holds'), { ...body, tenantId: 'tenant-b' }),
        await adminA.delete(subjects('s', `/holds/${uuid(1)}?tenantId=tenant-b`)),
        await auditorA.get(subjects('s', '/holds?tenantId=tenant-b')),
        await adminA.get(subjects('s', '/export?tenantId=tenant-b')),
      ];
      for (const res of otherTenant) expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      const notAdmin = [
        await writerA.post(subjects('s', '/erasure'), body),
        await auditorA.post(subjects('s', '/erasure'), body),
        await auditorA.post(subjects('s', '/holds'), body),
        await auditorA.delete(subjects('s', `/holds/${uuid(1)}`)),
        await auditorA.get(subjects('s', '/export')),
        await writerA.get(subjects('s', '/holds')),
      ];
      for (const res of notAdmin) expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    });

    it('refuses a missing, empty or huge reason, a bad subject id and unknown fields', async () => {
      for (const body of [
        {},
        { reason: '' },
        { reason: 'x'.repeat(1001) },
        { reason: 'ok', extra: 1 },
        { reason: 7 },
      ]) {
        for (const route of ['/erasure', '/holds']) {
          const res = await adminA.post(subjects('s', route), body);
          expect(res.status).toBe(400);
          expect(res.body.code).toBe('VALIDATION_FAILED');
        }
      }
      expect((await adminA.post(subjects('s', '/holds'), { reason: 'x'.repeat(1000) })).status).toBe(201);
      const nul = await adminA.post(subjects('s', '/erasure'), { reason: 'a\u0000b' });
      expect(nul.status).toBe(400);
      const huge = await adminA.post(subjects('s', '/erasure'), { reason: 'x'.repeat(1_100_000) });
      expect(huge.status).toBe(413);
      expect(huge.body.code).toBe('PAYLOAD_TOO_LARGE');
      const control = await adminA.post('/v1/subjects/a%01b/erasure', { reason: 'r' });
      expect(control.status).toBe(400);
      // Subject ids by the rule conversations are started with: 1-128 letters, digits or . _ : @ -
      expect((await adminA.post('/v1/subjects/a%20b/holds', { reason: 'r' })).status).toBe(400);
      expect((await adminA.post(`/v1/subjects/${'s'.repeat(129)}/holds`, { reason: 'r' })).status).toBe(414);
      const longest = `u:${'s'.repeat(120)}@x.y-z`;
      expect(longest).toHaveLength(128);
      expect((await adminA.post(`/v1/subjects/${longest}/holds`, { reason: 'r' })).status).toBe(201);
      expect((await adminA.delete(subjects('s', '/holds/not-a-uuid'))).status).toBe(400);
    });

    it('lists holds a page at a time (limit, nextCursor); refuses a forged cursor or limit', async () => {
      const subject = `paged-${randomUUID()}`;
      const ids = [];
      for (let i = 0; i < 5; i++)
        ids.push((await adminA.post(subjects(subject, '/holds'), { reason: `h${i}` })).body.holdId);
      const seen: string[] = [];
      let res = await auditorA.get(subjects(subject, '/holds?limit=2'));
      for (;;) {
        expect(res.status).toBe(200);
        seen.push(...res.body.items.map((h: { holdId: string }) => h.holdId));
        if (res.body.nextCursor === null) break;
        res = await auditorA.get(subjects(subject, `/holds?limit=2&cursor=${res.body.nextCursor}`));
      }
      expect(seen).toEqual([...ids].reverse());
      for (const query of ['cursor=forged', 'limit=0', 'limit=501', 'limit=x']) {
        const bad = await auditorA.get(subjects(subject, `/holds?${query}`));
        expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      }
      // tenant A's cursor in tenant B's hands: B's own holds of that subject id (none), never A's
      const first = await auditorA.get(subjects(subject, '/holds?limit=2'));
      const theirs = await auditorB.get(subjects(subject, `/holds?limit=2&cursor=${first.body.nextCursor}`));
      expect([theirs.status, theirs.body]).toEqual([200, { items: [], nextCursor: null }]);
      const named = await auditorB.get(subjects(subject, `/holds?tenantId=tenant-a&cursor=${first.body.nextCursor}`));
      expect(named.status).toBe(403);
    });
  });

  describe('attacks on the doors', () => {
    it('answers a revoked admin key 401 on every subject route, and erases and exports nothing', async () => {
      const subject = 'revoked-key-subject';
      const conversationId = randomUUID();
      await startConversation(writerA, conversationId, { subjectId: subject });
      await say(writerA, conversationId, uuid(1), null, 'user', 'kept after a revoked erasure');
      const { id, key } = await createApiKey(t.dataSource, { role: 'admin', tenantId: 'tenant-a' });
      const revoked = as(t, key);
      expect((await revoked.get(subjects(subject, '/holds'))).status).toBe(200);
      await revokeApiKey(t.dataSource, id.toUpperCase(), { actor: 'test' });
      let res = await revoked.get(subjects(subject, '/holds'));
      for (let i = 0; i < 50 && res.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await revoked.get(subjects(subject, '/holds'));
      }
      const answers = [
        res,
        await revoked.post(subjects(subject, '/erasure'), { reason: 'revoked' }),
        await revoked.post(subjects(subject, '/holds'), { reason: 'revoked' }),
        await t
          .http()
          .delete(subjects(subject, `/holds/${uuid(1)}`))
          .set({ Authorization: `Bearer ${key}` }),
        await revoked.get(subjects(subject, '/export')),
      ];
      for (const a of answers) expect([a.status, a.body.code]).toEqual([401, 'UNAUTHENTICATED']);
      const messages = await auditorA.get(path(conversationId, '/messages'));
      expect(messages.body.items).toEqual([expect.objectContaining({ content: 'kept after a revoked erasure' })]);
      const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM es_events WHERE stream_id = $1`, [
        subjectStreamId('tenant-a', subject),
      ]);
      expect(rows[0].n).toBe(0);
    });

    it('answers an id in the wrong letter case with the ids it may have meant (own tenant), erasing none', async () => {
      const meant = randomUUID();
      const otherTenants = randomUUID();
      await startConversation(writerA, meant, { subjectId: 'Case-Subject' });
      await say(writerA, meant, uuid(1), null, 'user', 'not the mistyped one');
      await startConversation(writerB, otherTenants, { subjectId: 'CASE-subject' });
      const mistyped = await adminA.post(subjects('case-subject', '/erasure'), { reason: 'typo' });
      expect(mistyped.status).toBe(200);
      expect(mistyped.body).toMatchObject({ conversations: 0, otherLetterCases: ['Case-Subject'] });
      const messages = await auditorA.get(path(meant, '/messages'));
      expect(messages.body.items).toEqual([expect.objectContaining({ content: 'not the mistyped one' })]);
      // The id as recorded: erased, and no hint.
      const right = await adminA.post(subjects('Case-Subject', '/erasure'), { reason: 'request' });
      expect(right.body.conversations).toBe(1);
      expect(right.body).not.toHaveProperty('otherLetterCases');
      // The tenant in another letter case: a tenant key is refused; a * key names another tenant,
      // which has none of this one's subjects, in any case.
      const otherCase = await adminA.post(subjects('case-subject', '/erasure'), { reason: 'r', tenantId: 'TENANT-A' });
      expect([otherCase.status, otherCase.body.code]).toEqual([403, 'FORBIDDEN']);
      const starOtherCase = await admin.post(subjects('Case-Subject', '/erasure'), {
        reason: 'r',
        tenantId: 'Tenant-A',
      });
      expect(starOtherCase.body.conversations).toBe(0);
      expect(starOtherCase.body).not.toHaveProperty('otherLetterCases');
      // An id nobody has in any case: no hint either.
      const nobody = await adminA.post(subjects('nobody-at-all', '/erasure'), { reason: 'request' });
      expect(nobody.body.conversations).toBe(0);
      expect(nobody.body).not.toHaveProperty('otherLetterCases');
    });

    it('erases twelve subjects at once, each conversation once, and leaves a thirteenth readable', async () => {
      const many = Array.from({ length: 13 }, (_, i) => ({ subject: `at-once-${i}`, conversationId: randomUUID() }));
      for (const { subject, conversationId } of many) {
        await startConversation(writerA, conversationId, { subjectId: subject });
        await say(writerA, conversationId, uuid(1), null, 'user', `said by ${subject}`);
      }
      const erased = many.slice(0, 12);
      const answers = await Promise.all(
        erased.map(({ subject }) => adminA.post(subjects(subject, '/erasure'), { reason: 'many at once' })),
      );
      for (const a of answers) expect([a.status, a.body.conversations]).toEqual([200, 1]);
      const { rows } = await t.db.pool.query<{ stream_id: string; n: number }>(
        `SELECT stream_id, count(*)::int AS n FROM es_events
          WHERE type = 'ContentErased' AND stream_id = ANY($1::text[]) GROUP BY stream_id`,
        [many.map((m) => streamIdOf(m.conversationId))],
      );
      expect(rows.map((r) => r.n)).toEqual(Array(12).fill(1));
      expect(rows.map((r) => r.stream_id).sort()).toEqual(erased.map((m) => streamIdOf(m.conversationId)).sort());
      for (const { conversationId } of erased) {
        const items = (await auditorA.get(path(conversationId, '/messages'))).body.items;
        expect(items).toEqual([expect.objectContaining({ content: null, contentErased: true })]);
      }
      const kept = (await auditorA.get(path(many[12].conversationId, '/messages'))).body.items;
      expect(kept).toEqual([expect.objectContaining({ content: 'said by at-once-12' })]);
    });
  });

  describe('legal holds', () => {
    const subject = 'held-subject';

    it('blocks erasure naming the hold until released, in any letter case, and records both in the feed', async () => {
      await startConversation(writerA, uuid(0xc1), { subjectId: subject });
      await say(writerA, uuid(0xc1), uuid(1), null, 'user', 'kept under hold');
      const placed = await admin.post(subjects(subject, '/holds'), { reason: 'litigation 42', tenantId: 'tenant-a' });
      expect(placed.status).toBe(201);
      const { holdId } = placed.body as { holdId: string };

      const refused = await adminA.post(subjects(subject, '/erasure'), { reason: 'request' });
      expect(refused.status).toBe(409);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ code: 'LEGAL_HOLD', holds: [{ holdId, reason: 'litigation 42' }] });
      expect(refused.body.detail).toContain(holdId);
      const messages = await writerA.get(path(uuid(0xc1), '/messages'));
      expect(messages.body.items[0].content).toBe('kept under hold');

      const listed = await auditorA.get(subjects(subject, '/holds'));
      expect(listed.status).toBe(200);
      expect(listed.body.items).toEqual([
        { holdId, reason: 'litigation 42', placedAt: expect.any(String), placedBy: expect.any(String) },
      ]);
      expect((await auditorB.get(subjects(subject, '/holds'))).body.items).toEqual([]);

      // another tenant's admin, another subject, an unknown id: one answer, no leak
      for (const res of [
        await adminB.delete(subjects(subject, `/holds/${holdId}`)),
        await adminA.delete(subjects('someone-else', `/holds/${holdId}`)),
        await adminA.delete(subjects(subject, `/holds/${randomUUID()}`)),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('NOT_FOUND');
      }
      const released = await adminA.delete(subjects(subject, `/holds/${holdId.toUpperCase()}`));
      expect(released.status).toBe(204);
      const again = await adminA.delete(subjects(subject, `/holds/${holdId}`));
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 'HOLD_ALREADY_RELEASED', releasedAt: expect.any(String) });
      expect((await auditorA.get(subjects(subject, '/holds'))).body.items[0]).toMatchObject({
        holdId,
        releasedAt: expect.any(String),
        releasedBy: expect.any(String),
      });

      const erased = await adminA.post(subjects(subject, '/erasure'), { reason: 'request' });
      expect(erased.status).toBe(200);
      expect(erased.body.conversations).toBe(1);

      const feed = async (client: Client) =>
        ((await client.get(`/v1/events?limit=500&waitFor=${await head()}`)).body.items as EventItem[])
          .filter((e) => e.data.subjectId === subject && e.type !== 'ConversationStarted')
          .map((e) => e.type);
      expect(await feed(auditorA)).toEqual(['LegalHoldPlaced', 'LegalHoldReleased', 'SubjectErased']);
      // the feed (and a tenant's auditors) see who acted; never a key
      const own = (await auditorA.get('/v1/events?limit=500')).body.items as EventItem[];
      expect(own.find((e) => e.type === 'LegalHoldPlaced' && e.data.subjectId === subject)).toMatchObject({
        data: { holdId, tenantId: 'tenant-a', subjectId: subject, reason: 'litigation 42' },
        metadata: { tenantId: 'tenant-a', actor: { type: 'operator' }, apiKeyId: expect.any(String) },
      });
      expect(await feed(auditorB)).toEqual([]);
    });

    it('never erases content under a hold that committed first (hold and erasure raced 20 times)', async () => {
      for (let i = 0; i < 20; i++) {
        const subject = `race-${i}`;
        const id = uuid(0xe000 + i);
        await startConversation(writerA, id, { subjectId: subject });
        await say(writerA, id, uuid(1), null, 'user', 'raced');
        const [erasure, hold] = await Promise.all([
          adminA.post(subjects(subject, '/erasure'), { reason: 'request' }),
          adminA.post(subjects(subject, '/holds'), { reason: 'litigation' }),
        ]);
        expect(hold.status).toBe(201);
        const message = (await writerA.get(path(id, '/messages'))).body.items[0];
        const { rows } = await t.db.pool.query<{ type: string }>(
          'SELECT type FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
          [subjectStreamId('tenant-a', subject)],
        );
        if (erasure.status === 409) {
          expect(erasure.body).toMatchObject({ code: 'LEGAL_HOLD', holds: [{ holdId: hold.body.holdId }] });
          expect(message.content).toBe('raced');
          expect(rows.map((r) => r.type)).toEqual(['LegalHoldPlaced']);
        } else {
          expect(erasure.status).toBe(200);
          expect(message).toMatchObject({ content: null, contentErased: true });
          expect(rows.map((r) => r.type)).toEqual(['SubjectErased', 'LegalHoldPlaced']);
        }
      }
    });

    it('answers a retried placement with the first hold, and another body under the key with 422', async () => {
      const key = { 'Idempotency-Key': `hold-${randomUUID()}` };
      const first = await adminA.post(subjects('retry-subject', '/holds'), { reason: 'audit' }, key);
      const again = await adminA.post(subjects('retry-subject', '/holds'), { reason: 'audit' }, key);
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      const other = await adminA.post(subjects('retry-subject', '/holds'), { reason: 'other' }, key);
      expect(other.status).toBe(422);
      expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect((await auditorA.get(subjects('retry-subject', '/holds'))).body.items).toHaveLength(1);
      // the same key on the erasure route is another request
      const erasure = await adminA.post(subjects('retry-subject', '/erasure'), { reason: 'audit' }, key);
      expect(erasure.status).toBe(422);
      expect(erasure.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });
  });

  describe('when a subject with ends, reviews and plaintext history is erased', () => {
    let endEventId: string;
    const figures = async () => {
      const waitFor = `waitFor=${await head()}`;
      const routes = [
        '/v1/audit/ends?tenantId=tenant-a',
        '/v1/audit/blocked-ends',
        '/v1/audit/stats/ends?bucket=day',
        '/v1/audit/compliance',
        '/v1/audit/sample?reasonCode=ABUSE_OF_ASSISTANT&size=10&seed=7',
      ];
      const answers: unknown[] = [];
      for (const route of routes) {
        const res = await admin.get(`${route}${route.includes('?') ? '&' : '?'}${waitFor}`);
        expect(res.status).toBe(200);
        answers.push(res.body);
      }
      return answers;
    };
    const status = async (id: string) => (await auditorA.get(`${path(id)}?waitFor=${await head()}`)).body;
    let before: { figures: unknown[]; a1: Record<string, unknown>; a2: Record<string, unknown> };
    let erasure: { conversations: number; erasedAt: string; plaintextEventsNotErasable: number; erasureId: string };
    const idempotencyKey = { 'Idempotency-Key': `erase-${randomUUID()}` };
    // a message sent under an Idempotency-Key before the erasure, retried after it
    const keyedBody = { messageId: uuid(3), parentMessageId: uuid(1), role: 'assistant', content: 'yes' };
    const keyedHeader = { 'Idempotency-Key': `message-${randomUUID()}` };
    let keyedMessage: { status: number; body: Record<string, unknown> };

    beforeAll(async () => {
      await startConversation(writerA, A1, { subjectId: SUBJECT });
      await abusiveThread(writerA, A1);
      await writerA.post(path(A1, '/feedback'), { messageId: THREAD.a2, rating: 'down', comment: 'rude model?' });
      const end = await writerA.post(path(A1, '/end'), {
        initiator: 'model',
        reasonCode: 'ABUSE_OF_ASSISTANT',
        atMessageId: THREAD.u3,
        explanation: 'persistent abuse after two redirections',
      });
      expect(end.status).toBe(201);
      endEventId = end.body.endEventId;
      const review = await auditorA.post(`/v1/audit/conversations/${A1}/reviews`, {
        endEventId,
        outcome: 'upheld',
        note: 'the user insulted the model twice',
      });
      expect(review.status).toBe(201);

      await startConversation(writerA, A2, { subjectId: SUBJECT });
      await say(writerA, A2, uuid(1), null, 'user', 'second conversation');
      keyedMessage = await writerA.post(path(A2, '/messages'), keyedBody, keyedHeader);
      expect(keyedMessage.status).toBe(201);
      const blocked = await writerA.post(path(A2, '/end'), {
        initiator: 'model',
        reasonCode: 'ABUSE_OF_ASSISTANT',
        atMessageId: uuid(1),
      });
      expect(blocked.status).toBe(409);
      // A message stored before content encryption existed: plaintext, written straight to the log.
      const store = new PostgresEventStore(t.db.pool);
      await store.append(
        streamIdOf(A2),
        [
          {
            eventId: randomUUID(),
            type: 'MessageAppended',
            data: { messageId: uuid(2), parentMessageId: uuid(1), role: 'assistant', content: 'written long ago' },
            metadata: { tenantId: 'tenant-a', actor: { type: 'model', id: 'claude-opus-4-1' } },
            occurredAt: new Date().toISOString(),
          },
        ],
        { expectedVersion: await store.streamVersion(streamIdOf(A2)) },
      );
      await store.close();

      await startConversation(writerA, OTHER, { subjectId: 'another-subject' });
      await say(writerA, OTHER, uuid(1), null, 'user', 'not this subject');
      await startConversation(writerB, B1, { subjectId: SUBJECT });
      await say(writerB, B1, uuid(1), null, 'user', 'same subject id, tenant b');

      before = { figures: await figures(), a1: await status(A1), a2: await status(A2) };
      const exported = await admin.get(subjects(SUBJECT, '/export?tenantId=tenant-a'));
      expect(exported.status).toBe(200);
      const lines = exportLines(exported.text);
      expect(lines.map((l) => l.conversationId ?? l.type)).toEqual([A1, A2, 'manifest']);
      expect(lines[0].messages!.map((m) => m.content)).toContain('Shut up, garbage.');
      expect(lines[0].ends).toEqual([
        expect.objectContaining({ endEventId, explanation: 'persistent abuse after two redirections' }),
      ]);
      // the subject's feedback comment and the review's note, opened too
      expect(
        lines[0].notes!.map((n) => [n.type, n.type === 'FeedbackSubmitted' ? n.data.comment : n.data.note]),
      ).toEqual([
        ['FeedbackSubmitted', 'rude model?'],
        ['EndDecisionReviewed', 'the user insulted the model twice'],
      ]);
      expect(lines[2]).toEqual({
        type: 'manifest',
        count: 2,
        sha256: expect.any(String),
        subjectId: SUBJECT,
        tenantId: 'tenant-a',
      });

      const erased = await adminA.post(subjects(SUBJECT, '/erasure'), { reason: 'DSR-2031' }, idempotencyKey);
      expect(erased.status).toBe(200);
      erasure = erased.body;
    });

    it('answers the conversations erased and the plaintext events it could not erase', () => {
      expect(erasure).toEqual({
        conversations: 2,
        erasedAt: expect.any(String),
        plaintextEventsNotErasable: 1,
        erasureId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    });

    it('answers a retry with the first answer, erasing nothing again; another body under the key is 422', async () => {
      const again = await adminA.post(subjects(SUBJECT, '/erasure'), { reason: 'DSR-2031' }, idempotencyKey);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(erasure);
      const other = await adminA.post(subjects(SUBJECT, '/erasure'), { reason: 'another' }, idempotencyKey);
      expect(other.status).toBe(422);
      expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
      const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM es_events WHERE stream_id = $1`, [
        subjectStreamId('tenant-a', SUBJECT),
      ]);
      expect(rows[0].n).toBe(1);
    });

    it('shows content: null, contentErased: true on every read of content', async () => {
      const messages = await auditorA.get(`${path(A1, '/messages')}?tree=true`);
      expect(messages.status).toBe(200);
      for (const m of messages.body.items) expect(m).toMatchObject({ content: null, contentErased: true });

      const events = (await auditorA.get(path(A1, '/events'))).body.items as {
        type: string;
        data: Record<string, unknown>;
        contentErased?: true;
        storedData?: Record<string, unknown>;
      }[];
      const sealed = events.filter((e) =>
        ['MessageAppended', 'ConversationEnded', 'FeedbackSubmitted', 'EndDecisionReviewed'].includes(e.type),
      );
      expect(sealed.length).toBeGreaterThan(5);
      for (const e of sealed) {
        expect(e.contentErased).toBe(true);
        expect(JSON.stringify(e.data)).not.toMatch(/garbage|persistent abuse|rude model|insulted/);
        expect(e.storedData).toBeDefined();
      }
      expect(events.at(-1)).toMatchObject({
        type: 'ContentErased',
        data: { erasureId: erasure.erasureId, scope: 'subject', reason: 'DSR-2031' },
      });

      const timeline = await auditorA.get(`/v1/audit/conversations/${A1}/timeline`);
      expect(timeline.body.chain).toEqual({ valid: true });
      expect(timeline.body.events.filter((e: { contentErased?: true }) => e.contentErased).length).toBe(sealed.length);

      const feed = (await auditorA.get(`/v1/events?limit=500&waitFor=${await head()}`)).body.items as {
        streamId?: string;
        data: Record<string, unknown>;
      }[];
      expect(JSON.stringify(feed)).not.toMatch(/Shut up, garbage|persistent abuse|rude model|second conversation/);

      // the plaintext written before encryption is still there: the answer said so
      const a2 = await auditorA.get(path(A2, '/messages'));
      expect(a2.body.items).toEqual([
        expect.objectContaining({ messageId: uuid(1), content: null, contentErased: true }),
        expect.objectContaining({ messageId: uuid(2), content: 'written long ago' }),
      ]);
    });

    it('exports nulls, and leaves another subject and the same id in another tenant readable', async () => {
      const lines = exportLines((await adminA.get(subjects(SUBJECT, '/export'))).text);
      expect(lines.map((l) => l.conversationId ?? l.type)).toEqual([A1, A2, 'manifest']);
      for (const m of lines[0].messages!) expect(m).toMatchObject({ content: null, contentErased: true });
      expect(lines[0].ends).toEqual([expect.objectContaining({ endEventId, explanation: null, contentErased: true })]);
      expect(
        lines[0].notes!.map((n) => [
          n.type,
          n.type === 'FeedbackSubmitted' ? n.data.comment : n.data.note,
          n.contentErased,
        ]),
      ).toEqual([
        ['FeedbackSubmitted', null, true],
        ['EndDecisionReviewed', null, true],
      ]);

      // the read of content is recorded: who, which tenant, which conversations
      await t.app.get(AccessRecorder).writer.flush();
      const { rows } = await t.db.pool.query<{ data: { tenantId: string; conversationIds: string[] } }>(
        `SELECT data FROM es_events WHERE stream_id LIKE 'access-%' AND data->>'route' = $1 ORDER BY position`,
        ['/v1/subjects/:subjectId/export'],
      );
      expect(rows.at(-1)!.data).toMatchObject({ tenantId: 'tenant-a', conversationIds: [A1, A2] });

      const theirs = exportLines((await adminB.get(subjects(SUBJECT, '/export'))).text);
      expect(theirs[0].messages).toEqual([expect.objectContaining({ content: 'same subject id, tenant b' })]);
      expect((await writerA.get(path(OTHER, '/messages'))).body.items[0].content).toBe('not this subject');
      const nobody = exportLines((await adminA.get(subjects('nobody', '/export'))).text);
      expect(nobody).toEqual([
        {
          type: 'manifest',
          count: 0,
          sha256: createHash('sha256').digest('hex'),
          subjectId: 'nobody',
          tenantId: 'tenant-a',
        },
      ]);
    });

    it('keeps the thread status, its ends and reviews, and every audit figure (version +1)', async () => {
      const after = { figures: await figures(), a1: await status(A1), a2: await status(A2) };
      expect(after.figures).toEqual(before.figures);
      for (const [was, now] of [
        [before.a1, after.a1],
        [before.a2, after.a2],
      ]) {
        expect(now.version).toBe((was.version as number) + 1);
        const { version: _v, lastEventAt: _l, ...rest } = was;
        expect(now).toMatchObject(rest);
      }
      expect(after.a1.ends).toEqual([expect.objectContaining({ endEventId, reviewOutcome: 'upheld' })]);
    });

    it('keeps every chain and the transparency log’s inclusion proofs valid', async () => {
      const store = new PostgresEventStore(t.db.pool);
      for (const id of [A1, A2, B1]) expect((await store.verifyStream(streamIdOf(id))).valid).toBe(true);
      expect((await store.verifyStream(subjectStreamId('tenant-a', SUBJECT))).valid).toBe(true);
      await store.close();
      const log = t.app.get(TransparencyLogService).log;
      const checkpoint = await log.checkpointCovering(await head());
      const events = (await auditorA.get(path(A1, '/events'))).body.items as { eventId: string }[];
      for (const { eventId } of [events[1], events.at(-1)!]) {
        const res = await auditorA.get(`/v1/audit/log/inclusion?eventId=${eventId}&treeSize=${checkpoint.treeSize}`);
        expect(res.status).toBe(200);
        const b64 = (s: string) => Buffer.from(s, 'base64');
        const { leafIndex, treeSize, leafHash, hashes } = res.body;
        expect(verifyInclusion(leafIndex, treeSize, b64(leafHash), hashes.map(b64), checkpoint.rootHash)).toBe(true);
      }
    });

    it('answers a message retried under its Idempotency-Key after the erasure as before, appending none', async () => {
      const events = async () => (await new PostgresEventStore(t.db.pool).streamVersion(streamIdOf(A2))) as number;
      const before = await events();
      const again = await writerA.post(path(A2, '/messages'), keyedBody, keyedHeader);
      expect([again.status, again.body]).toEqual([201, keyedMessage.body]);
      expect(await events()).toBe(before);
      // the record's request hash is keyed by the destroyed key: no guess of "yes" matches it
      const { rows } = await t.db.pool.query<{ h: string }>(
        'SELECT request_hash AS h FROM es_idempotency WHERE key = $1',
        [keyedHeader['Idempotency-Key']],
      );
      expect(rows).toHaveLength(1);
      const plainHash = (request: unknown) => createHash('sha256').update(canonicalize(request)).digest('hex');
      const plain = { method: 'POST', path: `/v1/conversations/${A2}/messages`, body: keyedBody };
      expect(rows[0].h).not.toBe(plainHash(plain));
      // the recipe is the API's: a start (ids only, so recorded plain) under a key matches it
      const startBody = { conversationId: uuid(0xa4), subjectId: SUBJECT, modelId: 'claude-opus-4-1' };
      const startKey = `start-${randomUUID()}`;
      expect((await writerA.post('/v1/conversations', startBody, { 'Idempotency-Key': startKey })).status).toBe(201);
      const start = await t.db.pool.query<{ h: string }>(
        'SELECT request_hash AS h FROM es_idempotency WHERE key = $1',
        [startKey],
      );
      expect(start.rows[0].h).toBe(plainHash({ method: 'POST', path: '/v1/conversations', body: startBody }));
      // the refused retry made no key: the erased conversation still has no live one
      const live = await t.db.pool.query(
        'SELECT 1 FROM content_keys WHERE conversation_id = $1 AND destroyed_at IS NULL',
        [A2],
      );
      expect(live.rowCount).toBe(0);
    });

    it('seals a message appended after the erasure under a new key; the earlier ones stay erased', async () => {
      // writerA's process holds A1's state from before the erasure: the append conflicts, reloads, succeeds
      const appended = await say(writerA, A1, uuid(0x99), THREAD.u2, 'user', 'a new branch after erasure');
      expect(appended).toBe(uuid(0x99));
      const tree = (await writerA.get(`${path(A1, '/messages')}?tree=true`)).body.items as {
        messageId: string;
        content: string | null;
        contentErased?: true;
      }[];
      expect(tree.find((m) => m.messageId === uuid(0x99))).toMatchObject({ content: 'a new branch after erasure' });
      expect(tree.find((m) => m.messageId === uuid(0x99))!.contentErased).toBeUndefined();
      expect(tree.find((m) => m.messageId === THREAD.u1)).toMatchObject({ content: null, contentErased: true });
      const { rows } = await t.db.pool.query(
        'SELECT count(*)::int AS n FROM content_keys WHERE conversation_id = $1 AND destroyed_at IS NULL',
        [A1],
      );
      expect(rows[0].n).toBe(1);
    });
  });

  describe('given a second process holding a conversation of the subject in its caches', () => {
    const C = uuid(0xd1);

    it('appends after the erasure on the new version under a new key, and reads earlier content erased', async () => {
      const other = await startAppOn(t.db.runtimeUrl);
      try {
        const http = await httpOf(other);
        const key = await t.key('writer', 'tenant-a');
        const asOther = (method: 'get' | 'post', url: string, body?: object) =>
          http()
            [method](url)
            .set('Authorization', `Bearer ${key}`)
            .send(body as object);
        expect(
          (await asOther('post', '/v1/conversations', { conversationId: C, subjectId: 'two-proc', modelId: 'm' }))
            .status,
        ).toBe(201);
        const m1 = { messageId: uuid(1), parentMessageId: null, role: 'user', content: 'before erasure' };
        expect((await asOther('post', path(C, '/messages'), m1)).status).toBe(201);

        expect((await adminA.post(subjects('two-proc', '/erasure'), { reason: 'request' })).status).toBe(200);

        // the other process's state and key are stale: its append conflicts, reloads and seals under a new key
        const m2 = { messageId: uuid(2), parentMessageId: uuid(1), role: 'assistant', content: 'after erasure' };
        const appended = await asOther('post', path(C, '/messages'), m2);
        expect(appended.status).toBe(201);
        expect(appended.body.version).toBe(4);
        // it forgets the destroyed key when the erasure's NOTIFY reaches it
        let items: { messageId: string; content: string | null; contentErased?: true }[] = [];
        for (let i = 0; i < 100; i++) {
          items = (await asOther('get', path(C, '/messages'))).body.items;
          if (items[0].contentErased) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(items).toEqual([
          expect.objectContaining({ messageId: uuid(1), content: null, contentErased: true }),
          expect.objectContaining({ messageId: uuid(2), content: 'after erasure' }),
        ]);
      } finally {
        await other.close();
      }
    });
  });
});
