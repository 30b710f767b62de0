import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from 'json-canonicalize';
import { httpOf } from './support/test-app';
import { PostgresEventStore } from '@app/event-store';
import { V1_REASON_CODE_RULES } from '@app/conversation';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { startAppOn } from './support/app-on';
import { createKeyOn } from './support/keys';
import { abusiveThread, endAtU3, startConversation, THREAD, uuid } from './support/scenario';

const dir = mkdtempSync(join(tmpdir(), 'policy-'));
const policyFile = (name: string, policy: object): string => {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(policy));
  return file;
};
const sha256 = (content: unknown) => createHash('sha256').update(canonicalize(content)).digest('hex');

const V2 = {
  version: 2,
  endCapableModels: ['claude-opus-4-1', 'model-x'],
  minRedirectionAttempts: 1,
  requireWarning: false,
};

/** Calls one instance as one key (the helpers of test-app.ts, for an app started here). */
const client = async (app: NestFastifyApplication, key: string) => {
  const auth = { Authorization: `Bearer ${key}` };
  const http = await httpOf(app);
  return {
    get: (p: string) => http().get(p).set(auth),
    post: (p: string, body: unknown = {}) =>
      http()
        .post(p)
        .set(auth)
        .send(body as object),
  };
};

async function policyEvents(
  db: TestDatabase,
): Promise<{ stream_id: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[]> {
  const { rows } = await db.pool.query(
    `SELECT stream_id, data, metadata FROM es_events WHERE stream_id LIKE 'policy-%' ` +
      'ORDER BY stream_id, stream_version',
  );
  return rows;
}

/** Ends a conversation of `modelId` by the model after `redirections`; returns the end's event id. */
async function modelEnd(
  app: NestFastifyApplication,
  writerKey: string,
  id: string,
  modelId: string,
  redirections = 1,
): Promise<string> {
  const writer = await client(app, writerKey);
  await startConversation(writer, id, { modelId });
  await abusiveThread(writer, id, redirections);
  const end = await endAtU3(writer, id, { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT' });
  const { body } = await (await client(app, writerKey)).get(`/v1/conversations/${id}`);
  expect(body.ends.map((e: { endEventId: string }) => e.endEventId)).toEqual([end.endEventId]);
  return end.endEventId;
}

const policyVersionOf = async (db: TestDatabase, endEventId: string) =>
  (await db.pool.query(`SELECT data->'policyVersion' AS v FROM es_events WHERE event_id = $1`, [endEventId])).rows[0].v;

/** DOMAIN.md: policy versions stored in full at first use; compliance against each end's own stored version. */
describe('Policy versions', () => {
  describe('stored at first use', () => {
    let db: TestDatabase;
    beforeAll(async () => (db = await createTestDatabase()));
    afterAll(() => db.drop());

    it('stores every version the service decides under, in full with its SHA-256, once', async () => {
      const file = policyFile('v2.json', V2);
      for (let start = 0; start < 2; start++) await (await startAppOn(db.url, { POLICY_FILE: file })).close();
      const events = await policyEvents(db);
      expect(events.map((e) => [e.stream_id, e.data.version])).toEqual([
        ['policy-1', 1],
        ['policy-2', 2],
      ]);
      // Stored in full: a file without reason codes means version 1's table, and is stored with it.
      const storedV2 = { ...V2, reasonCodes: V1_REASON_CODE_RULES };
      expect(events[1].data).toEqual({ version: 2, policy: storedV2, sha256: sha256(storedV2) });
      expect(events[1].metadata).toMatchObject({ origin: 'POLICY_FILE', actor: { type: 'system' } });
      expect(events[0].data.sha256).toBe(sha256(events[0].data.policy));
    });

    it(
      'refuses to start with a POLICY_FILE that changes a stored version, ' +
        'naming POLICY_FILE and the version; stores nothing',
      async () => {
        const changed = policyFile('v2-changed.json', { ...V2, minRedirectionAttempts: 0 });
        const before = await policyEvents(db);
        await expect(startAppOn(db.url, { POLICY_FILE: changed })).rejects.toThrow(
          /POLICY_FILE changes the rules of policy version 2 \(stored /,
        );
        const reordered = policyFile('v2-reordered.json', {
          ...V2,
          endCapableModels: [...V2.endCapableModels].reverse(),
        });
        await expect(startAppOn(db.url, { POLICY_FILE: reordered })).rejects.toThrow(/POLICY_FILE.*version 2/);
        const otherCodes = policyFile('v2-other-codes.json', { ...V2, reasonCodes: V1_REASON_CODE_RULES.slice(1) });
        await expect(startAppOn(db.url, { POLICY_FILE: otherCodes })).rejects.toThrow(
          /POLICY_FILE changes the rules of policy version 2/,
        );
        expect(await policyEvents(db)).toEqual(before);
      },
    );

    it('takes a file that writes out version 1’s table as the same version as one that leaves it out', async () => {
      const before = await policyEvents(db);
      await (
        await startAppOn(db.url, {
          POLICY_FILE: policyFile('v2-table.json', { ...V2, reasonCodes: V1_REASON_CODE_RULES }),
        })
      ).close();
      expect(await policyEvents(db)).toEqual(before);
    });
  });

  describe('compliance', () => {
    let db: TestDatabase;
    beforeAll(async () => (db = await createTestDatabase()));
    afterAll(() => db.drop());

    it('re-checks an end against its own stored version after the service moved on to another policy', async () => {
      const writer = (await createKeyOn(db.url, { role: 'writer', tenantId: 'acme' })).key;
      const auditor = (await createKeyOn(db.url, { role: 'auditor', tenantId: '*' })).key;
      const withV2 = await startAppOn(db.url, { POLICY_FILE: policyFile('v2-again.json', V2) });
      try {
        expect(await policyVersionOf(db, await modelEnd(withV2, writer, uuid(0xc1), 'model-x'))).toBe(2);
      } finally {
        await withV2.close();
      }
      // Restarted without POLICY_FILE: version 1 is in force, version 2 only stored.
      const withV1 = await startAppOn(db.url);
      try {
        const res = await (await client(withV1, auditor)).get('/v1/audit/compliance');
        expect(res.status).toBe(200);
        expect(res.body.items).toEqual([]);
        expect(res.body.checkedEnds).toBe(1);
      } finally {
        await withV1.close();
      }
    });
  });

  describe('reason codes of a version', () => {
    let db: TestDatabase;
    beforeAll(async () => (db = await createTestDatabase()));
    afterAll(() => db.drop());

    // Version 2 adds SPAM_FLOOD and drops OTHER_POLICY.
    const codes = V1_REASON_CODE_RULES.filter((rule) => rule.code !== 'OTHER_POLICY');
    const spamFlood = {
      code: 'SPAM_FLOOD',
      meaning: 'floods of automated messages',
      initiators: ['model', 'operator'],
      explanationRequired: false,
    };
    const V2_CODES = { ...V2, reasonCodes: [...codes, spamFlood] };
    const byOperator = { initiator: 'operator', reasonCode: 'OTHER_POLICY', explanation: 'ticket 9' };
    const [C1, C2, C3] = [uuid(0xd1), uuid(0xd2), uuid(0xd3)];

    it('ends by the codes of the version in force and keeps every stored version’s codes known', async () => {
      const keys = await Promise.all(
        (['writer', 'operator', 'auditor'] as const).map(
          async (role) => (await createKeyOn(db.url, { role, tenantId: role === 'auditor' ? '*' : 'acme' })).key,
        ),
      );
      const withV2 = await startAppOn(db.url, { POLICY_FILE: policyFile('v2-codes.json', V2_CODES) });
      let spamEnd: string;
      try {
        const [writer, operator, auditor] = await Promise.all(keys.map((key) => client(withV2, key)));
        // The added code ends a conversation (the answers are checked against the OpenAPI document).
        await startConversation(writer, C1, { modelId: 'model-x' });
        await abusiveThread(writer, C1, 1);
        const added = await endAtU3(writer, C1, { initiator: 'model', reasonCode: 'SPAM_FLOOD' });
        spamEnd = added.endEventId;
        expect(await policyVersionOf(db, spamEnd)).toBe(2);
        expect((await writer.get(`/v1/conversations/${C1}`)).body.ends).toMatchObject([{ reasonCode: 'SPAM_FLOOD' }]);
        // The dropped one is refused for a new end: a blocked attempt, recorded.
        await startConversation(writer, C2);
        await abusiveThread(writer, C2, 0);
        const dropped = await operator.post(`/v1/conversations/${C2}/end`, { ...byOperator, atMessageId: THREAD.u3 });
        expect([dropped.status, dropped.body.code, dropped.body.failedGuards]).toEqual([
          409,
          'END_BLOCKED',
          ['REASON_NOT_ALLOWED'],
        ]);
        // A code no version declares is no reason code at all.
        const unknown = await operator.post(`/v1/conversations/${C2}/end`, {
          ...byOperator,
          reasonCode: 'RUDENESS',
          atMessageId: THREAD.u3,
        });
        expect([unknown.status, unknown.body.code, unknown.body.errors]).toEqual([
          400,
          'VALIDATION_FAILED',
          [expect.objectContaining({ field: 'reasonCode' })],
        ]);
        const ends = await auditor.get(`/v1/audit/ends?reasonCode=SPAM_FLOOD&waitFor=${added.position}`);
        expect(ends.body.items.map((e: { endEventId: string }) => e.endEventId)).toEqual([spamEnd]);
        const unknownFilter = await auditor.get('/v1/audit/ends?reasonCode=RUDENESS');
        expect([unknownFilter.status, unknownFilter.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      } finally {
        await withV2.close();
      }

      // Restarted without POLICY_FILE: version 1 in force, version 2 only stored.
      const withV1 = await startAppOn(db.url);
      try {
        const [writer, operator, auditor] = await Promise.all(keys.map((key) => client(withV1, key)));
        const readded = await operator.post(`/v1/conversations/${C2}/end`, { ...byOperator, atMessageId: THREAD.u3 });
        expect(readded.status).toBe(201);
        await startConversation(writer, C3);
        await abusiveThread(writer, C3, 2);
        const gone = await writer.post(`/v1/conversations/${C3}/end`, {
          initiator: 'model',
          reasonCode: 'SPAM_FLOOD',
          atMessageId: THREAD.u3,
        });
        expect([gone.status, gone.body.failedGuards]).toEqual([409, ['REASON_NOT_ALLOWED']]);
        // Reviews and filters take the code of any stored version.
        const review = await auditor.post(`/v1/audit/conversations/${C2}/reviews`, {
          endEventId: readded.body.endEventId,
          outcome: 'reclassified',
          newReasonCode: 'SPAM_FLOOD',
        });
        expect(review.status).toBe(201);
        const bad = await auditor.post(`/v1/audit/conversations/${C2}/reviews`, {
          endEventId: readded.body.endEventId,
          outcome: 'reclassified',
          newReasonCode: 'RUDENESS',
        });
        expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
        const ends = await auditor.get(`/v1/audit/ends?reasonCode=SPAM_FLOOD&waitFor=${review.body.position}`);
        expect(ends.body.items.map((e: { endEventId: string }) => e.endEventId)).toEqual([spamEnd]);
        const blocked = await auditor.get(`/v1/audit/blocked-ends?reasonCode=SPAM_FLOOD`);
        expect(blocked.body.items).toMatchObject([
          { conversationId: C3, failedGuards: ['REASON_NOT_ALLOWED'], policyVersion: 1 },
        ]);
        // Each end judged by its own version: SPAM_FLOOD under 2, OTHER_POLICY under 1.
        const compliance = await auditor.get('/v1/audit/compliance');
        expect([compliance.status, compliance.body.items, compliance.body.checkedEnds]).toEqual([200, [], 2]);
      } finally {
        await withV1.close();
      }
    });
  });

  describe('when the built-in copy differs from the stored version', () => {
    let db: TestDatabase;
    beforeAll(async () => (db = await createTestDatabase()));
    afterAll(() => db.drop());

    it('decides and re-checks under the stored version, not the code’s copy', async () => {
      // Version 1 as an earlier release stored it, before its built-in copy changed.
      const storedV1 = {
        version: 1,
        endCapableModels: ['claude-opus-4', 'claude-opus-4-1', 'model-y'],
        minRedirectionAttempts: 0,
        requireWarning: false,
      };
      const store = new PostgresEventStore(db.pool);
      await store.append(
        'policy-1',
        [
          {
            eventId: uuid(0x9001),
            type: 'PolicyVersionRecorded',
            data: { version: 1, policy: storedV1, sha256: sha256(storedV1) },
            metadata: {},
            occurredAt: '2025-06-01T00:00:00Z',
          },
        ],
        { expectedVersion: 'no_stream' },
      );
      await store.close();
      const writer = (await createKeyOn(db.url, { role: 'writer', tenantId: 'acme' })).key;
      const auditor = (await createKeyOn(db.url, { role: 'auditor', tenantId: '*' })).key;
      const app = await startAppOn(db.url);
      try {
        // model-y without a redirection: allowed by the stored version 1 only.
        expect(await policyVersionOf(db, await modelEnd(app, writer, uuid(0xc2), 'model-y', 0))).toBe(1);
        const res = await (await client(app, auditor)).get('/v1/audit/compliance');
        expect([res.status, res.body.items, res.body.checkedEnds]).toEqual([200, [], 1]);
      } finally {
        await app.close();
      }
      expect((await policyEvents(db)).map((e) => e.stream_id)).toEqual(['policy-1']);
    });
  });
});
