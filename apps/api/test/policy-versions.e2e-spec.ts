import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize } from 'json-canonicalize';
import { httpOf } from './support/test-app';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { startAppOn } from './support/app-on';
import { createKeyOn } from './support/keys';
import { abusiveThread, endAtU3, startConversation, uuid } from './support/scenario';

const dir = mkdtempSync(join(tmpdir(), 'policy-'));
const policyFile = (name: string, policy: object): string => {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(policy));
  return file;
};
const sha256 = (content: unknown) => createHash('sha256').update(canonicalize(content)).digest('hex');

const V2 = { version: 2, endCapableModels: ['claude-opus-4-1', 'model-x'], minRedirectionAttempts: 1, requireWarning: false };

/** Calls one instance as one key (the helpers of test-app.ts, for an app started here). */
const client = async (app: NestFastifyApplication, key: string) => {
  const auth = { Authorization: `Bearer ${key}` };
  const http = await httpOf(app);
  return {
    get: (p: string) => http().get(p).set(auth),
    post: (p: string, body: unknown = {}) => http().post(p).set(auth).send(body as object),
  };
};

async function policyEvents(db: TestDatabase): Promise<{ stream_id: string; data: Record<string, unknown>; metadata: Record<string, unknown> }[]> {
  const { rows } = await db.pool.query(`SELECT stream_id, data, metadata FROM es_events WHERE stream_id LIKE 'policy-%' ORDER BY stream_id, stream_version`);
  return rows;
}

/** Ends a conversation of `modelId` by the model after `redirections`; returns the end's event id. */
async function modelEnd(app: NestFastifyApplication, writerKey: string, id: string, modelId: string, redirections = 1): Promise<string> {
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
      expect(events.map((e) => [e.stream_id, e.data.version])).toEqual([['policy-1', 1], ['policy-2', 2]]);
      expect(events[1].data).toEqual({ version: 2, policy: V2, sha256: sha256(V2) });
      expect(events[1].metadata).toMatchObject({ origin: 'POLICY_FILE', actor: { type: 'system' } });
      expect(events[0].data.sha256).toBe(sha256(events[0].data.policy));
    });

    it('refuses to start with a POLICY_FILE that changes a stored version, naming POLICY_FILE and the version; stores nothing', async () => {
      const changed = policyFile('v2-changed.json', { ...V2, minRedirectionAttempts: 0 });
      const before = await policyEvents(db);
      await expect(startAppOn(db.url, { POLICY_FILE: changed })).rejects.toThrow(/POLICY_FILE changes the rules of policy version 2 \(stored /);
      const reordered = policyFile('v2-reordered.json', { ...V2, endCapableModels: [...V2.endCapableModels].reverse() });
      await expect(startAppOn(db.url, { POLICY_FILE: reordered })).rejects.toThrow(/POLICY_FILE.*version 2/);
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

  describe('when the built-in copy differs from the stored version', () => {
    let db: TestDatabase;
    beforeAll(async () => (db = await createTestDatabase()));
    afterAll(() => db.drop());

    it('decides and re-checks under the stored version, not the code’s copy', async () => {
      // Version 1 as an earlier release stored it, before its built-in copy changed.
      const storedV1 = { version: 1, endCapableModels: ['claude-opus-4', 'claude-opus-4-1', 'model-y'], minRedirectionAttempts: 0, requireWarning: false };
      const store = new PostgresEventStore(db.pool);
      await store.append(
        'policy-1',
        [{ eventId: uuid(0x9001), type: 'PolicyVersionRecorded', data: { version: 1, policy: storedV1, sha256: sha256(storedV1) }, metadata: {}, occurredAt: '2025-06-01T00:00:00Z' }],
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
