import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEVEL_STEP, openCheckpoint, parseVerifierKey, rootAt, verifyConsistency, verifyInclusion } from '@app/tlog';
import { comparePositions, PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, ProjectionRunner, readCheckpoints } from '@app/projections';
import { forgeStoredLeaf } from '@app/testing';
import {
  createSigningKeyFile,
  SEQUENCER_NAME,
  SEQUENCER_RUNNER_OPTIONS,
  SequencerProjection,
  StoredNodes,
} from '@app/transparency';
import { ProjectionsService } from '../src/projections/projections.service';
import { TransparencyLogService } from '../src/transparency-log/transparency-log.service';
import { as, startTestApp, TestApp } from './support/test-app';
import { Client, path, say, startConversation, uuid } from './support/scenario';

const ORIGIN = 'e2e.example/conversation-log';
const A = uuid(0xa1);
const B = uuid(0xb1);
const b64 = (s: string) => Buffer.from(s, 'base64');

interface Proof {
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  hashes: string[];
}

/** CONTRACT.md "Transparency log": checkpoints, keys and proofs over HTTP, verified as an auditor would. */
describe('Transparency log over HTTP', () => {
  let t: TestApp;
  let auditorA: Client;
  let auditorB: Client;
  let admin: Client;
  let writerA: Client;
  let log: TransparencyLogService;

  /** Signs now, once the sequencer has passed every event written so far. */
  async function sign() {
    const { rows } = await t.db.pool.query<{ p: string }>(
      `SELECT transaction_id::text || '-' || position::text AS p FROM es_events
        ORDER BY transaction_id DESC, position DESC LIMIT 1`,
    );
    return log.log.checkpointCovering(rows[0].p);
  }

  async function eventIdOf(conversationId: string, version: number): Promise<string> {
    const res = await admin.get(path(conversationId, '/events'));
    return (res.body.items ?? res.body).find((e: { version: number }) => e.version === version).eventId;
  }

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tlog-e2e-'));
    const keyFile = join(dir, 'key.pem');
    createSigningKeyFile(keyFile);
    t = await startTestApp({ LOG_ORIGIN: ORIGIN, SIGNING_KEY_FILE: keyFile, CHECKPOINT_DIR: join(dir, 'cp') });
    log = t.app.get(TransparencyLogService);
    auditorA = as(t, await t.key('auditor', 'tenant-a'));
    auditorB = as(t, await t.key('auditor', 'tenant-b'));
    admin = as(t, await t.key('admin', '*'));
    writerA = as(t, await t.key('writer', 'tenant-a'));
  });
  afterAll(() => t.close());

  it('answers 404 while nothing is signed', async () => {
    const res = await auditorA.get('/v1/audit/log/checkpoint');
    expect(res.status).toBe(404);
  });

  describe('once conversations are logged and signed', () => {
    beforeAll(async () => {
      await startConversation(writerA, A);
      await say(writerA, A, uuid(1), null, 'user', 'hello');
      await sign();
      await say(writerA, A, uuid(2), uuid(1), 'assistant', 'hi');
      await startConversation(as(t, await t.key('writer', 'tenant-b')), B);
      await sign();
    });

    it('serves the latest checkpoint byte-exact as text, signed by the published key', async () => {
      const res = await auditorA.get('/v1/audit/log/checkpoint');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      const latest = (await log.log.latestCheckpoint())!;
      expect(res.text).toBe(latest.note);
      const keys = await auditorA.get('/v1/audit/log/verifier-key');
      expect(keys.status).toBe(200);
      expect(keys.body).toEqual({
        origin: ORIGIN,
        verifierKey: expect.stringMatching(/^e2e\.example\/conversation-log\+[0-9a-f]{8}\+/),
        keys: [{ verifierKey: keys.body.verifierKey, fromTreeSize: expect.any(Number) }],
      });
      const opened = openCheckpoint(res.text, [parseVerifierKey(keys.body.verifierKey)], ORIGIN);
      expect(opened.size).toBe(latest.treeSize);
    });

    it('lists checkpoints newest first, a page at a time', async () => {
      const first = await auditorA.get('/v1/audit/log/checkpoints?limit=1');
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(1);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await auditorA.get(`/v1/audit/log/checkpoints?limit=1&cursor=${first.body.nextCursor}`);
      expect(second.body.items[0].treeSize).toBeLessThan(first.body.items[0].treeSize);
      expect(second.body.nextCursor).toBeNull();
      expect((await auditorA.get('/v1/audit/log/checkpoints?cursor=abc')).status).toBe(400);
      expect((await auditorA.get('/v1/audit/log/checkpoints?limit=501')).status).toBe(400);
    });

    it('proves an event included in the signed tree, by id in any letter case or by stream and version', async () => {
      const eventId = await eventIdOf(A, 2);
      const latest = (await log.log.latestCheckpoint())!;
      for (const query of [
        `eventId=${eventId}`,
        `eventId=${eventId.toUpperCase()}`,
        `streamId=conversation-${A.toUpperCase()}&version=2`,
      ]) {
        const res = await auditorA.get(`/v1/audit/log/inclusion?${query}`);
        expect(res.status).toBe(200);
        const proof = res.body as Proof;
        expect(proof.treeSize).toBe(latest.treeSize);
        expect(
          verifyInclusion(proof.leafIndex, proof.treeSize, b64(proof.leafHash), proof.hashes.map(b64), latest.rootHash),
        ).toBe(true);
      }
    });

    it('answers any tree size up to the current tree, 400 beyond it, 404 NOT_IN_TREE below the leaf', async () => {
      const eventId = await eventIdOf(A, 2);
      const { leafIndex } = (await auditorA.get(`/v1/audit/log/inclusion?eventId=${eventId}`)).body as Proof;
      const current = await log.log.treeSize();
      const at = await auditorA.get(`/v1/audit/log/inclusion?eventId=${eventId}&treeSize=${leafIndex + 1}`);
      expect(at.status).toBe(200);
      const below = await auditorA.get(`/v1/audit/log/inclusion?eventId=${eventId}&treeSize=${leafIndex}`);
      expect(below.status).toBe(404);
      expect(below.body.code).toBe('NOT_IN_TREE');
      const beyond = await auditorA.get(`/v1/audit/log/inclusion?eventId=${eventId}&treeSize=${current + 1}`);
      expect(beyond.status).toBe(400);
      expect(beyond.body.code).toBe('VALIDATION_FAILED');
    });

    it("answers another tenant's event exactly as an unknown one", async () => {
      const eventId = await eventIdOf(A, 1);
      const theirs = await auditorB.get(`/v1/audit/log/inclusion?eventId=${eventId.toUpperCase()}`);
      const unknown = await auditorB.get(`/v1/audit/log/inclusion?eventId=${uuid(0xdead)}`);
      const byStream = await auditorB.get(`/v1/audit/log/inclusion?streamId=conversation-${A}&version=1`);
      for (const res of [theirs, unknown, byStream]) {
        expect(res.status).toBe(404);
        expect(res.body).toEqual(unknown.body);
      }
      expect((await admin.get(`/v1/audit/log/inclusion?eventId=${eventId}`)).status).toBe(200);
    });

    it('refuses malformed questions and callers without the role', async () => {
      for (const query of [
        '',
        'eventId=nope',
        `eventId=${uuid(1)}&streamId=s&version=1`,
        'streamId=s',
        'version=1',
        `eventId=${uuid(1)}&treeSize=-1`,
      ]) {
        const res = await auditorA.get(`/v1/audit/log/inclusion?${query}`);
        expect(res.status).toBe(400);
      }
      expect((await writerA.get('/v1/audit/log/checkpoint')).status).toBe(403);
      expect((await writerA.get(`/v1/audit/log/inclusion?eventId=${uuid(1)}`)).status).toBe(403);
    });

    it('proves consistency between two signed checkpoints', async () => {
      const { body } = await auditorA.get('/v1/audit/log/checkpoints');
      const [newer, older] = body.items as { treeSize: number; rootHash: string }[];
      const res = await auditorA.get(`/v1/audit/log/consistency?from=${older.treeSize}&to=${newer.treeSize}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ from: older.treeSize, to: newer.treeSize });
      expect(
        verifyConsistency(
          older.treeSize,
          newer.treeSize,
          res.body.hashes.map(b64),
          b64(older.rootHash),
          b64(newer.rootHash),
        ),
      ).toBe(true);
      const current = await log.log.treeSize();
      expect((await auditorA.get(`/v1/audit/log/consistency?from=2&to=1`)).status).toBe(400);
      expect((await auditorA.get(`/v1/audit/log/consistency?from=1&to=${current + 1}`)).status).toBe(400);
      expect((await auditorA.get(`/v1/audit/log/consistency?from=1`)).status).toBe(400);
    });

    it('parses treeSize, from and to strictly: decimal digits only, at most 2^53 - 1', async () => {
      const eventId = await eventIdOf(A, 1);
      for (const bad of ['', '0x10', '1e3', '%205', '-1', '1.5', '9007199254740993', '01%20', '+1']) {
        const inclusion = await auditorA.get(`/v1/audit/log/inclusion?eventId=${eventId}&treeSize=${bad}`);
        expect([bad, inclusion.status, inclusion.body.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
        for (const query of [`from=${bad}&to=1`, `from=1&to=${bad}`]) {
          const consistency = await auditorA.get(`/v1/audit/log/consistency?${query}`);
          expect([query, consistency.status, consistency.body.code]).toEqual([query, 400, 'VALIDATION_FAILED']);
        }
      }
      const fromAfterTo = await auditorA.get('/v1/audit/log/consistency?from=3&to=2');
      expect([fromAfterTo.status, fromAfterTo.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect((await auditorA.get(`/v1/audit/log/inclusion?eventId=${eventId}&treeSize=0005`)).status).not.toBe(400);
      expect((await auditorA.get('/v1/audit/log/consistency?from=1&to=2')).status).toBe(200);
    });

    it('waits for the sequencer on ?waitFor=: the event of a write just made has its leaf', async () => {
      const C = uuid(0xc1);
      await startConversation(writerA, C);
      // The sequencer held back (its runner stopped) while the projections go on.
      const runners = (t.app.get(ProjectionsService) as unknown as { runners: ProjectionRunner[] }).runners;
      const at = runners.findIndex((r) => r.projection.name === SEQUENCER_NAME);
      await runners[at].stop();
      const write = await writerA.post(path(C, '/messages'), {
        messageId: uuid(0xc2),
        parentMessageId: null,
        role: 'user',
        content: 'just written',
      });
      expect(write.status).toBe(201);
      const position: string = write.body.position;
      const { rows } = await t.db.pool.query<{ event_id: string; n: string }>(
        `SELECT (SELECT event_id FROM es_events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1) AS event_id,
                (SELECT count(*) FROM es_events WHERE (transaction_id, position) <= ($2::xid8, $3::bigint))::text AS n`,
        [`conversation-${C}`, ...position.split('-')],
      );
      const treeSize = Number(rows[0].n);
      const answer = auditorA
        .get(`/v1/audit/log/inclusion?eventId=${rows[0].event_id}&treeSize=${treeSize}&waitFor=${position}`)
        .then((res) => res);
      // Once the projections have passed the write (and a moment more), the sequencer starts again.
      const passed = async () => {
        const reached = new Map((await readCheckpoints(t.db.pool)).map((c) => [c.name, c.position]));
        return ALL_PROJECTIONS.every((p) => comparePositions(reached.get(p.name) ?? '0-0', position) >= 0);
      };
      for (let i = 0; i < 400 && !(await passed()); i++) await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, 300));
      runners[at] = new ProjectionRunner(
        t.db.pool,
        t.app.get(PostgresEventStore),
        new SequencerProjection(),
        SEQUENCER_RUNNER_OPTIONS,
      );
      runners[at].start();
      const res = await answer;
      expect([res.status, res.body.code]).toEqual([200, undefined]);
      const proof = res.body as Proof;
      expect(proof.treeSize).toBe(treeSize);
      const root = await rootAt(new StoredNodes(t.db.pool), treeSize);
      expect(verifyInclusion(proof.leafIndex, treeSize, b64(proof.leafHash), proof.hashes.map(b64), root)).toBe(true);
    });

    it("proves a tenant's own access entries to its auditor, and answers another tenant's as unknown", async () => {
      // Reads of each tenant's conversation: access entries in access-tenant-a-* and access-tenant-b-*.
      expect((await admin.get(path(A, '/events'))).status).toBe(200);
      expect((await admin.get(path(B, '/events'))).status).toBe(200);
      const entryOf = async (tenant: string) => {
        for (let i = 0; i < 400; i++) {
          const { rows } = await t.db.pool.query<{ event_id: string; stream_id: string; v: string }>(
            `SELECT event_id, stream_id, stream_version::text AS v FROM es_events
              WHERE stream_id LIKE $1 AND type = 'ContentAccessed' ORDER BY transaction_id DESC, position DESC LIMIT 1`,
            [`access-${tenant}-%`],
          );
          if (rows.length) return rows[0];
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`no access entry of ${tenant}`);
      };
      const [mine, theirs] = [await entryOf('tenant-a'), await entryOf('tenant-b')];
      await sign();
      const latest = (await log.log.latestCheckpoint())!;
      for (const query of [`eventId=${mine.event_id}`, `eventId=${mine.event_id.toUpperCase()}`]) {
        const res = await auditorA.get(`/v1/audit/log/inclusion?${query}`);
        expect([query, res.status]).toEqual([query, 200]);
        const proof = res.body as Proof;
        expect(
          verifyInclusion(proof.leafIndex, proof.treeSize, b64(proof.leafHash), proof.hashes.map(b64), latest.rootHash),
        ).toBe(true);
      }
      const byStream = await auditorA.get(`/v1/audit/log/inclusion?streamId=${mine.stream_id}&version=${mine.v}`);
      expect(byStream.status).toBe(200);
      const unknown = await auditorA.get(`/v1/audit/log/inclusion?eventId=${uuid(0xdead)}`);
      for (const query of [
        `eventId=${theirs.event_id}`,
        `eventId=${theirs.event_id.toUpperCase()}`,
        `streamId=${theirs.stream_id}&version=${theirs.v}`,
        `streamId=${theirs.stream_id.toUpperCase()}&version=${theirs.v}`,
      ]) {
        const res = await auditorA.get(`/v1/audit/log/inclusion?${query}`);
        expect([query, res.status, res.body]).toEqual([query, 404, unknown.body]);
      }
      expect((await auditorB.get(`/v1/audit/log/inclusion?eventId=${mine.event_id}`)).status).toBe(404);
      expect((await auditorB.get(`/v1/audit/log/inclusion?eventId=${theirs.event_id}`)).status).toBe(200);
    });

    it('reports the signer in /health', async () => {
      const res = await t.http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', transparencyLog: { status: 'up', signer: 'ok' } });
    });

    // Last: it leaves the log's stored tree rewritten.
    it('refuses to sign a rewritten tree, and /health turns degraded (still 200: the record works)', async () => {
      const signed = (await log.log.latestCheckpoint())!;
      // The first node of the highest stored level (0, 4, 8, …) of the signed tree: the largest
      // subtree of every proof from it is computed from it (a leaf: in its range of tlog_ranges).
      const level = Math.floor(Math.log2(signed.treeSize) / LEVEL_STEP) * LEVEL_STEP;
      if (level === 0) {
        expect(await forgeStoredLeaf(t.db.pool, 0)).toBe(1);
      } else {
        await t.db.pool.query('ALTER TABLE tlog_nodes DISABLE TRIGGER tlog_nodes_no_update');
        const rewritten = await t.db.pool.query(
          'UPDATE tlog_nodes SET hash = sha256(hash) WHERE level = $1 AND index = 0',
          [level],
        );
        expect(rewritten.rowCount).toBe(1);
        await t.db.pool.query('ALTER TABLE tlog_nodes ENABLE ALWAYS TRIGGER tlog_nodes_no_update');
      }
      await say(writerA, A, uuid(3), uuid(2), 'user', 'one more');
      await expect(sign()).rejects.toThrow(/does not extend the checkpoint signed at/);
      const res = await t.http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'degraded',
        transparencyLog: { status: 'down', signer: 'refused', reason: expect.stringMatching(/not signed/) },
      });
      expect((await log.log.latestCheckpoint())!.note).toBe(signed.note);
    });
  });
});
