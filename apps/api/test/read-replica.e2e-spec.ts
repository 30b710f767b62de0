import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { createApiKey, type Role } from '@app/access';
import { loadConfig } from '@app/platform';
import {
  cloneScratchCluster,
  makeScratchTemplate,
  type ScratchCluster,
  type ScratchReplica,
  type ScratchTemplate,
  startScratchReplica,
  testContentKeyFile,
} from '@app/testing';
import { createSigningKeyFile } from '@app/transparency';
import { createApp } from '../src/app.factory';
import { REPLICA_APPLICATION_NAME, REPLICA_AUDIT_APPLICATION_NAME } from '../src/database/read-database';
import { path, uuid, type Client } from './support/scenario';
import { httpOf } from './support/test-app';

jest.setTimeout(180_000);

/** The built CLI (npm run build:server). */
const CLI = join(resolve(__dirname, '../../..'), 'dist/apps/cli/src/main.js');
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const A = uuid(0xa1);
const B = uuid(0xb1);

/**
 * A real streaming replica (PostgreSQL 18 hot standby of a scratch cluster, base backup by
 * pg_backup_start/stop and a file copy) as READ_DATABASE_URL. Its replay is paused to make it lag
 * on purpose: an answer that shows the older state came from the replica, one that shows the
 * newer from the primary.
 */
describe('a read replica (READ_DATABASE_URL)', () => {
  let template: ScratchTemplate;
  let primary: ScratchCluster;
  let replica: ScratchReplica;
  let app: NestFastifyApplication;
  let operator: Client;
  let auditor: Client;
  let keyDir: string;
  /** /health, without a key; checked against the OpenAPI document. */
  let health: () => Promise<Response>;
  /** Positions: A started and its message (p1), A ended (p2), B's message while the replica is down (p3). */
  const at: Record<string, string> = {};

  const bodyOf = (res: Response) => res.body as Record<string, unknown>;
  const applicationNames = async (cluster: ScratchCluster) =>
    (
      await cluster.query<{ name: string }>(
        "SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = 'conversations'",
      )
    ).map((r) => r.name);

  beforeAll(async () => {
    template = await makeScratchTemplate();
    primary = cloneScratchCluster(template);
    await primary.start();
    replica = await startScratchReplica(primary);
    keyDir = mkdtempSync(join(tmpdir(), 'replica-e2e-'));
    createSigningKeyFile(join(keyDir, 'signing-key.pem'));
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      DATABASE_URL: primary.runtimeUrl,
      READ_DATABASE_URL: replica.cluster.runtimeUrl,
      LOG_ORIGIN: 'replica.example/log',
      SIGNING_KEY_FILE: join(keyDir, 'signing-key.pem'),
      CHECKPOINT_INTERVAL: '1',
      CONTENT_KEY_FILE: testContentKeyFile(),
    });
    app = await createApp({ config, databaseUrl: primary.runtimeUrl, logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const http = await httpOf(app);
    health = async () => http().get('/health');
    const dataSource = app.get(DataSource);
    const client = async (role: Role, tenantId: string): Promise<Client> => {
      const auth = { Authorization: `Bearer ${(await createApiKey(dataSource, { role, tenantId })).key}` };
      return {
        get: (p: string) => http().get(p).set(auth),
        post: (p: string, body: unknown = {}, headers: Record<string, string> = {}) =>
          http()
            .post(p)
            .set(auth)
            .set(headers)
            .send(body as object),
      };
    };
    operator = await client('operator', 'tenant-a');
    auditor = await client('auditor', '*');
  });

  afterAll(async () => {
    await app?.close();
    await replica?.remove();
    await primary?.remove();
    template?.remove();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it('answers audit reads from the replica, and waits on its checkpoints for ?waitFor=', async () => {
    expect((await operator.post('/v1/conversations', { conversationId: A, subjectId: 's', modelId: 'm' })).status).toBe(
      201,
    );
    const message = await operator.post(path(A, '/messages'), {
      messageId: uuid(1),
      parentMessageId: null,
      role: 'user',
      content: 'Hello',
    });
    expect(message.status).toBe(201);
    at.p1 = bodyOf(message).position as string;

    const ends = await auditor.get(`/v1/audit/ends?waitFor=${at.p1}`);
    expect([ends.status, bodyOf(ends).items]).toEqual([200, []]);
    const names = await applicationNames(replica.cluster);
    expect(names).toContain(REPLICA_APPLICATION_NAME);
    // Nothing of the audit reads on the primary: with a replica it has no audit pool at all.
    expect(await applicationNames(primary)).not.toContain('conversation-service (audit)');
  });

  describe('while the replica lags (its replay paused)', () => {
    beforeAll(async () => {
      await replica.pauseReplay();
      const end = await operator.post(path(A, '/end'), {
        initiator: 'operator',
        reasonCode: 'OPERATOR_ACTION',
        explanation: 'ended by staff after review',
        atMessageId: uuid(1),
      });
      expect(end.status).toBe(201);
      at.p2 = bodyOf(end).position as string;
      at.endEventId = bodyOf(end).endEventId as string;
    });

    it('answers thread status from the primary, also for a ?waitFor= the replica has not reached', async () => {
      for (const query of ['', `?waitFor=${at.p2}`]) {
        const status = await operator.get(path(A, query));
        expect([status.status, bodyOf(status).version, bodyOf(status).status]).toEqual([200, 3, 'ended']);
      }
    });

    it('answers thread status from the replica for a ?waitFor= it has reached: its older state', async () => {
      const status = await operator.get(path(A, `?waitFor=${at.p1}`));
      expect([status.status, bodyOf(status).version, bodyOf(status).ends]).toEqual([200, 2, []]);
    });

    it('shows the older state in audit reads without ?waitFor=, while the primary has the newer', async () => {
      // The status?waitFor=p2 above was answered once the primary's projections had the end.
      const onPrimary = await primary.query<{ id: string }>('SELECT end_event_id::text AS id FROM rm_ends');
      expect(onPrimary.map((r) => r.id)).toEqual([at.endEventId]);
      const ends = await auditor.get('/v1/audit/ends');
      expect([ends.status, bodyOf(ends).items]).toEqual([200, []]);
      const stats = await auditor.get('/v1/audit/compliance');
      expect([stats.status, bodyOf(stats).checkedEnds]).toEqual([200, 0]);
    });

    it('exports from the replica in the CLI too (export --format jsonl), at its older state', async () => {
      const out = join(keyDir, 'export.jsonl');
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [CLI, 'export', '--format', 'jsonl', '--out', out],
        {
          env: {
            ...process.env,
            DATABASE_URL: primary.runtimeUrl,
            MIGRATION_DATABASE_URL: primary.url,
            READ_DATABASE_URL: replica.cluster.runtimeUrl,
          },
        },
      );
      const manifest = JSON.parse(readFileSync(join(keyDir, 'export.manifest.json'), 'utf8')) as {
        count: number;
        sha256: string;
      };
      expect([manifest.count, manifest.sha256]).toEqual([0, stdout.trim()]);
    });

    it('reports the lag on /health', async () => {
      const res = await health();
      const replicaHealth = (
        res.body as { replica: { status: string; standby: boolean; lagBytes: number; lagSeconds: number } }
      ).replica;
      expect([res.status, replicaHealth.status, replicaHealth.standby]).toEqual([200, 'up', true]);
      expect(replicaHealth.lagBytes).toBeGreaterThan(0);
      expect(replicaHealth.lagSeconds).toBeGreaterThan(0);
    });

    it('holds an audit read with ?waitFor= until the replica has replayed that far', async () => {
      let answered = false;
      const pending = auditor.get(`/v1/audit/ends?waitFor=${at.p2}`).then((res) => {
        answered = true;
        return res;
      });
      await sleep(500);
      expect(answered).toBe(false);
      await replica.resumeReplay();
      const ends = await pending;
      expect(ends.status).toBe(200);
      expect((bodyOf(ends).items as { endEventId: string }[]).map((e) => e.endEventId)).toEqual([at.endEventId]);
    });
  });

  describe('once the replica has caught up', () => {
    it('exports, bundles and shows the timeline from it', async () => {
      const exported = await auditor.get(`/v1/audit/export?waitFor=${at.p2}`).buffer(true);
      expect(exported.status).toBe(200);
      const lines = exported.text.trim().split('\n');
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'manifest', count: 1 });
      const timeline = await auditor.get(`/v1/audit/conversations/${A}/timeline?waitFor=${at.p2}`);
      expect([timeline.status, (bodyOf(timeline).events as unknown[]).length, bodyOf(timeline).chain]).toEqual([
        200,
        3,
        { valid: true },
      ]);
      const bundle = await auditor
        .get(`/v1/audit/export?bundle=1&waitFor=${at.p2}`)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        });
      expect([bundle.status, bundle.headers['content-type']]).toEqual([200, 'application/x-tar']);
      expect(await applicationNames(replica.cluster)).toContain(REPLICA_AUDIT_APPLICATION_NAME);
    });

    it('answers every other audit read there (a standby refuses any write, SET or lock they would take)', async () => {
      for (const route of [
        '/v1/audit/blocked-ends',
        '/v1/audit/stats/ends',
        '/v1/audit/stats/blocked-ends?groupBy=guard',
        '/v1/audit/reviews/stats',
        '/v1/audit/policies',
        '/v1/audit/sample?seed=replica',
        '/v1/audit/compliance',
        '/v1/audit/access',
      ]) {
        const res = await auditor.get(`${route}${route.includes('?') ? '&' : '?'}waitFor=${at.p2}`);
        expect([route, res.status]).toEqual([route, 200]);
      }
      const sample = await auditor.get(`/v1/audit/sample?seed=replica&waitFor=${at.p2}`);
      expect((bodyOf(sample).items as { endEventId: string }[]).map((e) => e.endEventId)).toEqual([at.endEventId]);
    });

    it('writes the access entries of those reads on the primary', async () => {
      const deadline = Date.now() + 20_000;
      let routes: string[] = [];
      while (Date.now() < deadline) {
        routes = (await primary.query<{ route: string }>('SELECT DISTINCT route FROM rm_access')).map((r) => r.route);
        if (routes.some((r) => r.includes('/timeline'))) break;
        await sleep(200);
      }
      expect(routes).toEqual(expect.arrayContaining([expect.stringContaining('/v1/audit/ends')]));
      expect(routes).toEqual(expect.arrayContaining([expect.stringContaining('/timeline')]));
    });
  });

  describe('while the replica is down', () => {
    beforeAll(async () => {
      await replica.cluster.stop();
    });

    it('answers audit reads 503 DATABASE_UNAVAILABLE (no fall back to the primary)', async () => {
      for (const route of [
        '/v1/audit/ends',
        `/v1/audit/ends?waitFor=${at.p2}`,
        '/v1/audit/compliance',
        '/v1/audit/export',
        `/v1/audit/conversations/${A}/timeline`,
      ]) {
        const res = await auditor.get(route);
        expect([route, res.status, bodyOf(res).code]).toEqual([route, 503, 'DATABASE_UNAVAILABLE']);
        expect(res.headers['retry-after']).toBeDefined();
      }
    });

    it('takes commands and answers thread status from the primary as ever', async () => {
      expect(
        (await operator.post('/v1/conversations', { conversationId: B, subjectId: 's', modelId: 'm' })).status,
      ).toBe(201);
      const message = await operator.post(path(B, '/messages'), {
        messageId: uuid(2),
        parentMessageId: null,
        role: 'user',
        content: 'Hello again',
      });
      expect(message.status).toBe(201);
      at.p3 = bodyOf(message).position as string;
      const status = await operator.get(path(B, `?waitFor=${at.p3}`));
      expect([status.status, bodyOf(status).version]).toEqual([200, 2]);
    });

    it('reports it down on /health, the service degraded but up', async () => {
      const res = await health();
      const body = res.body as { status: string; replica: { status: string } };
      expect([res.status, body.status, body.replica]).toEqual([200, 'degraded', { status: 'down' }]);
    });

    it('serves audit reads again once it is back, caught up', async () => {
      await replica.cluster.start();
      const ends = await auditor.get(`/v1/audit/ends?waitFor=${at.p3}`);
      expect([ends.status, (bodyOf(ends).items as unknown[]).length]).toEqual([200, 1]);
    });
  });
});
