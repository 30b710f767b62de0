import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, ProjectionRunner, rebuildProjections, readCheckpoint } from '@app/projections';
import { createTestDatabase, dropStoredLeavesFrom, forgeStoredLeaf, TestDatabase } from '@app/testing';
import {
  consistencyProof,
  Frontier,
  inclusionProof,
  isStoredLevel,
  leafHash,
  MemorySubtreeSource,
  openCheckpoint,
  openNote,
  parseVerifierKey,
  rootAt,
  signCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '@app/tlog';
import {
  appendEvents,
  conversationStream,
  deleteStream,
  expectedRoot,
  rewriteEvent,
  swapOrder,
} from '../test/log-fixtures';
import { catchUpSequencer } from './catch-up';
import { CheckpointSigner, SigningRefused } from './checkpoint-signer';
import { logKeys } from './checkpoints';
import { resolveOrigin } from './log-origin';
import { insertNodes, SEQUENCER_NAME, SequencerProjection } from './sequencer.projection';
import { createSigningKeyFile, readSigningKey, SigningKeyFileExists } from './signing-key-file';
import { inclusionProofsAt } from './inclusion-batch';
import { leafOfEvent, leafOfStreamVersion, StoredNodes, storedTreeSize } from './stored-nodes';
import { TransparencyLog } from './transparency-log';
import { verifyAgainstCheckpoint } from './verify-against-checkpoint';

const ORIGIN = 'test.example/log';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The leaf hashes of every event, in commit order. */
async function referenceLeaves(pool: Pool): Promise<Buffer[]> {
  const { rows } = await pool.query<{ hash: string }>('SELECT hash FROM es_events ORDER BY transaction_id, position');
  return rows.map((r) => leafHash(Buffer.from(r.hash, 'hex')));
}

/** The tree of every event with every node, in memory: the pure core's reference. */
async function referenceTree(pool: Pool): Promise<MemorySubtreeSource> {
  return new MemorySubtreeSource(Frontier.empty().append(await referenceLeaves(pool)));
}

function keyFile(dir: string, name = 'key.pem'): string {
  const file = join(dir, name);
  createSigningKeyFile(file);
  return file;
}

describe('transparency log', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let dir: string;
  const silent = { error: () => undefined, warn: () => undefined };

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    dir = mkdtempSync(join(tmpdir(), 'tlog-'));
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  describe('the sequencer', () => {
    it('makes every event of every stream a leaf in commit order, batch after batch and after a restart', async () => {
      await appendEvents(store, conversationStream(), 3);
      await appendEvents(store, 'apikey-3f1e2d4c-0000-4000-8000-000000000001', 2, '*');
      await catchUpSequencer(db.pool, store);
      expect(await storedTreeSize(db.pool)).toBe(5);
      expect(await rootAt(new StoredNodes(db.pool), 5)).toEqual(await expectedRoot(db.pool));
      // A new process: its edge of the tree is loaded from the stored nodes.
      for (let i = 0; i < 7; i++) await appendEvents(store, conversationStream(), i + 1);
      await catchUpSequencer(db.pool, store);
      const size = await storedTreeSize(db.pool);
      expect(size).toBe(5 + 28);
      for (const s of [1, 2, 5, 8, 17, size]) {
        expect(await rootAt(new StoredNodes(db.pool), s)).toEqual(await expectedRoot(db.pool, s));
      }
      expect(await readCheckpoint(db.pool, SEQUENCER_NAME)).toBe(await store.headPosition());
    });

    it('stores a batch of over 1,024 leaves as ranges of at most 1,024, and finds each event in them', async () => {
      // Three streams, their appends interleaved; one batch of 1,100 events.
      const streams = [conversationStream(), conversationStream(), conversationStream()];
      for (let i = 0; i < 11; i++) await appendEvents(store, streams[i % 3], 100);
      await catchUpSequencer(db.pool, store);
      const { rows: ranges } = await db.pool.query<{ first_leaf: string; leaves: number }>(
        'SELECT first_leaf, leaves FROM tlog_ranges ORDER BY first_leaf',
      );
      expect(ranges).toEqual([
        { first_leaf: '0', leaves: 1024 },
        { first_leaf: '1024', leaves: 76 },
      ]);
      const size = await storedTreeSize(db.pool);
      expect(size).toBe(1100);
      const reference = await referenceTree(db.pool);
      const stored = new StoredNodes(db.pool);
      expect(await rootAt(stored, size)).toEqual(await rootAt(reference, size));
      // Proofs whose leaf runs cross the ranges' border, and at both ends.
      for (const leaf of [0, 1015, 1023, 1024, 1030, 1099]) {
        expect(await inclusionProof(stored, leaf, size)).toEqual(await inclusionProof(reference, leaf, size));
      }
      for (const from of [1, 1020, 1024, 1025]) {
        expect(await consistencyProof(stored, from, size)).toEqual(await consistencyProof(reference, from, size));
      }
      // Each event's leaf, by id and by stream and version: its place in commit order.
      const { rows: events } = await db.pool.query<{ event_id: string; stream_id: string; version: string }>(
        `SELECT event_id, stream_id, stream_version::text AS version FROM es_events ORDER BY transaction_id, position`,
      );
      for (const i of [0, 1, 1022, 1023, 1024, 1025, 1099]) {
        expect((await leafOfEvent(db.pool, events[i].event_id))?.leafIndex).toBe(i);
        expect((await leafOfStreamVersion(db.pool, events[i].stream_id, Number(events[i].version)))?.leafIndex).toBe(i);
      }
      const refs = [0, 1023, 1024, 1099].map((i) => ({
        streamId: events[i].stream_id,
        version: Number(events[i].version),
      }));
      const proofs = await inclusionProofsAt(db.pool, refs, size);
      expect(proofs.map((p) => p.leafIndex)).toEqual([0, 1023, 1024, 1099]);
      // An event appended after: no leaf until it is sequenced, then the next one.
      await appendEvents(store, streams[0], 1);
      const { rows: last } = await db.pool.query<{ event_id: string }>(
        'SELECT event_id FROM es_events ORDER BY transaction_id DESC, position DESC LIMIT 1',
      );
      expect(await leafOfEvent(db.pool, last[0].event_id)).toBeNull();
      await catchUpSequencer(db.pool, store);
      expect((await leafOfEvent(db.pool, last[0].event_id))?.leafIndex).toBe(1100);
    });

    it('resumes from the stored tree when another process sequenced meanwhile', async () => {
      const [a, b] = [new SequencerProjection(), new SequencerProjection()];
      const conn = await db.pool.connect();
      try {
        const runner = (p: SequencerProjection) => new ProjectionRunner(db.pool, store, p, { batchSize: 4 });
        for (const [i, p] of [a, b, a, b, a].entries()) {
          await appendEvents(store, conversationStream(), i + 2);
          for (let tries = 0; (await runner(p).processBatch(conn)) === 0 && tries < 400; tries++) await sleep(25);
        }
      } finally {
        conn.release();
      }
      await catchUpSequencer(db.pool, store);
      const size = await storedTreeSize(db.pool);
      expect(size).toBe(2 + 3 + 4 + 5 + 6);
      expect(await rootAt(new StoredNodes(db.pool), size)).toEqual(await expectedRoot(db.pool));
    });

    it("stores the leaf hashes and every fourth level; roots and proofs from them are the pure core's", async () => {
      for (let i = 0; i < 10; i++) await appendEvents(store, conversationStream(), 30);
      const conn = await db.pool.connect();
      try {
        // Batches of 37, each by a new sequencer: partial subtrees at every batch's end, the edge reloaded.
        const batch = () => new ProjectionRunner(db.pool, store, new SequencerProjection(), { batchSize: 37 });
        for (let tries = 0; (await storedTreeSize(db.pool)) < 300 && tries < 400; tries++) {
          if ((await batch().processBatch(conn)) <= 0) await sleep(25);
        }
      } finally {
        conn.release();
      }
      const { rows: levels } = await db.pool.query<{ level: number; n: number }>(
        'SELECT level, count(*)::int AS n FROM tlog_nodes GROUP BY level ORDER BY level',
      );
      // The leaves as a range per batch (nine batches: 8 of 37 and one of 4), not a row each.
      expect(levels).toEqual([
        { level: 4, n: 18 },
        { level: 8, n: 1 },
      ]);
      const { rows: ranges } = await db.pool.query<{ ranges: number; leaves: number }>(
        'SELECT count(*)::int AS ranges, sum(leaves)::int AS leaves FROM tlog_ranges',
      );
      expect(ranges).toEqual([{ ranges: 9, leaves: 300 }]);
      const reference = await referenceTree(db.pool);
      const stored = new StoredNodes(db.pool);
      for (const size of [1, 2, 3, 7, 15, 16, 17, 31, 100, 255, 256, 257, 299, 300]) {
        expect(await rootAt(stored, size)).toEqual(await rootAt(reference, size));
        for (const leaf of new Set([0, size >> 1, size - 2, size - 1].filter((l) => l >= 0))) {
          expect(await inclusionProof(stored, leaf, size)).toEqual(await inclusionProof(reference, leaf, size));
        }
        for (const [from, to] of [
          [1, size],
          [size >> 1, size],
          [size - 1, size],
          [size, 300],
        ]) {
          expect(await consistencyProof(stored, from, to)).toEqual(await consistencyProof(reference, from, to));
        }
      }
    });

    it('reads and extends a tree sequenced before, when every level was stored', async () => {
      await appendEvents(store, conversationStream(), 21);
      await catchUpSequencer(db.pool, store);
      // What the sequencer stored before: the nodes of every level (those of levels 1-3 added here).
      const before = Frontier.empty().append((await referenceLeaves(db.pool)).slice(0, 21));
      await insertNodes(
        db.pool,
        before.filter((n) => !isStoredLevel(n.level)),
      );
      // Every level but the leaves (in tlog_ranges since migration 1764402400000): 2 × 21 - 3 - 21.
      expect((await db.pool.query('SELECT count(*)::int AS n FROM tlog_nodes')).rows[0].n).toBe(2 * 21 - 3 - 21);
      for (let i = 0; i < 3; i++) await appendEvents(store, conversationStream(), 10);
      await catchUpSequencer(db.pool, store);
      const reference = await referenceTree(db.pool);
      const stored = new StoredNodes(db.pool);
      for (const size of [5, 16, 21, 22, 32, 51]) {
        expect(await rootAt(stored, size)).toEqual(await rootAt(reference, size));
        expect(await inclusionProof(stored, size - 1, size)).toEqual(await inclusionProof(reference, size - 1, size));
        const [from, to] = size < 21 ? [size, 21] : [21, size];
        expect(await consistencyProof(stored, from, to)).toEqual(await consistencyProof(reference, from, to));
      }
      const { rows } = await db.pool.query<{ level: number; n: number }>(
        'SELECT level, count(*)::int AS n FROM tlog_nodes WHERE level > 0 GROUP BY level ORDER BY level',
      );
      // Levels 1 to 3 only where they were stored before; from then on levels 4, 8, … only.
      expect(rows).toEqual([
        { level: 1, n: 10 },
        { level: 2, n: 5 },
        { level: 3, n: 2 },
        { level: 4, n: 3 },
      ]);
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      const signed = (await new CheckpointSigner(db.pool, origin, key, { log: silent }).sign())!;
      expect(signed.treeSize).toBe(51);
      const verified = await verifyAgainstCheckpoint(db.pool, signed.note, [parseVerifierKey(key.verifierKey)]);
      expect(verified).toMatchObject({ ok: true, events: 51 });
    });

    it('is evidence: a rebuild of the projections leaves its tables alone, and refuses to rebuild it', async () => {
      await appendEvents(store, 'apikey-3f1e2d4c-0000-4000-8000-000000000002', 4, '*');
      await catchUpSequencer(db.pool, store);
      const tables = async () => [
        (await db.pool.query('SELECT * FROM tlog_nodes ORDER BY level, index')).rows,
        (await db.pool.query('SELECT * FROM tlog_ranges ORDER BY first_leaf')).rows,
      ];
      const before = await tables();
      expect(before[1]).not.toEqual([]);
      await rebuildProjections(db.pool, store, ALL_PROJECTIONS);
      expect(await tables()).toEqual(before);
      await expect(rebuildProjections(db.pool, store, [new SequencerProjection()])).rejects.toThrow(/never rebuilt/);
    });

    it('keeps its tables append-only for every role, the owner included', async () => {
      // Sixteen leaves: a stored node above them (level 4), so that every table has rows to refuse.
      await appendEvents(store, conversationStream(), 16);
      await catchUpSequencer(db.pool, store);
      const origin = await resolveOrigin(db.pool, ORIGIN);
      await new CheckpointSigner(db.pool, origin, readSigningKey(keyFile(dir), origin), { log: silent }).sign();
      const runtime = new Pool({ connectionString: db.runtimeUrl, max: 1 });
      try {
        for (const pool of [db.pool, runtime]) {
          for (const sql of [
            'UPDATE tlog_nodes SET hash = hash',
            'DELETE FROM tlog_ranges',
            'UPDATE tlog_ranges SET leaves = leaves',
            'TRUNCATE tlog_ranges',
            'TRUNCATE tlog_nodes',
            'TRUNCATE tlog_checkpoints',
            'DELETE FROM tlog_keys',
            'UPDATE tlog_origin SET origin = origin',
          ]) {
            await expect(pool.query(sql)).rejects.toThrow(/append-only|permission denied/);
          }
        }
      } finally {
        await runtime.end();
      }
    });
  });

  describe('the signer', () => {
    it('signs C2SP checkpoints of the tree, stored and written to CHECKPOINT_DIR, only when it grew', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      const outDir = join(dir, 'checkpoints');
      const signer = new CheckpointSigner(db.pool, origin, key, { checkpointDir: outDir, log: silent });
      await appendEvents(store, conversationStream(), 5);
      await catchUpSequencer(db.pool, store);
      const first = (await signer.sign())!;
      const opened = openCheckpoint(first.note, [parseVerifierKey(key.verifierKey)], ORIGIN);
      expect(opened).toMatchObject({ origin: ORIGIN, size: 5 });
      expect(opened.rootHash).toEqual(await expectedRoot(db.pool));
      expect((await signer.sign())!.note).toBe(first.note);
      expect(readdirSync(outDir)).toEqual(['checkpoint-000000000005.txt']);
      expect(readFileSync(join(outDir, 'checkpoint-000000000005.txt'), 'utf8')).toBe(first.note);
      await appendEvents(store, conversationStream(), 2);
      await catchUpSequencer(db.pool, store);
      const second = (await signer.sign())!;
      expect(second.treeSize).toBe(7);
      const log = new TransparencyLog(db.pool, origin, signer);
      const proof = await log.consistency(5, 7);
      expect(verifyConsistency(5, 7, proof, first.rootHash, second.rootHash)).toBe(true);
      // Past a power of ten: sizes order as numbers (12 after 7), never as text.
      await appendEvents(store, conversationStream(), 5);
      await catchUpSequencer(db.pool, store);
      expect((await signer.sign())!.treeSize).toBe(12);
      expect((await log.latestCheckpoint())!.treeSize).toBe(12);
      expect((await log.checkpoints({ limit: 2 })).items.map((c) => c.treeSize)).toEqual([12, 7]);
      expect((await log.checkpoints({ before: 7, limit: 2 })).items.map((c) => c.treeSize)).toEqual([5]);
    });

    it('signs on its interval when the tree grew, and only then', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const signer = new CheckpointSigner(db.pool, origin, readSigningKey(keyFile(dir), origin), { log: silent });
      const sizes = async () =>
        (await db.pool.query<{ n: string }>('SELECT tree_size::text AS n FROM tlog_checkpoints ORDER BY 1')).rows.map(
          (r) => Number(r.n),
        );
      signer.start(20);
      try {
        await appendEvents(store, conversationStream(), 2);
        await catchUpSequencer(db.pool, store);
        for (let i = 0; i < 400 && !(await sizes()).includes(2); i++) await sleep(25);
        await sleep(200);
        expect(await sizes()).toEqual([2]);
        await appendEvents(store, conversationStream(), 1);
        await catchUpSequencer(db.pool, store);
        for (let i = 0; i < 400 && !(await sizes()).includes(3); i++) await sleep(25);
        expect(await sizes()).toEqual([2, 3]);
      } finally {
        await signer.stop();
      }
    });

    it('signs one checkpoint per tree size, however many signers ask at once', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      await appendEvents(store, conversationStream(), 3);
      await catchUpSequencer(db.pool, store);
      const signers = Array.from({ length: 5 }, () => new CheckpointSigner(db.pool, origin, key, { log: silent }));
      const notes = await Promise.all(signers.map((s) => s.sign()));
      expect(new Set(notes.map((n) => n!.note)).size).toBe(1);
      expect((await db.pool.query('SELECT count(*)::int AS n FROM tlog_checkpoints')).rows[0].n).toBe(1);
      const log = new TransparencyLog(db.pool, origin, signers[0]);
      const manifest = 'conversation-audit-manifest\ntest.example/log\nsha256 00\n';
      expect(openNote(log.signNote(manifest), [parseVerifierKey(key.verifierKey)]).text).toBe(manifest);
    });

    it('signs once an interval between processes: a tick soon after any checkpoint signs nothing', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      // Two workers' signers, each with its own timer (WORKERS > 1).
      const [one, two] = [0, 1].map(() => new CheckpointSigner(db.pool, origin, key, { log: silent }));
      await appendEvents(store, conversationStream(), 3);
      await catchUpSequencer(db.pool, store);
      expect((await one.sign({ wait: false, notWithinMs: 60_000 }))!.treeSize).toBe(3);
      await appendEvents(store, conversationStream(), 2);
      await catchUpSequencer(db.pool, store);
      expect(await two.sign({ wait: false, notWithinMs: 60_000 })).toBeNull();
      expect(await one.sign({ wait: false, notWithinMs: 60_000 })).toBeNull();
      const count = async () => (await db.pool.query('SELECT count(*)::int AS n FROM tlog_checkpoints')).rows[0].n;
      expect(await count()).toBe(1);
      // Past the interval (here: none asked), the grown tree is signed.
      await sleep(20);
      expect((await two.sign({ wait: false, notWithinMs: 10 }))!.treeSize).toBe(5);
      expect(await count()).toBe(2);
    });

    it('refuses to sign a tree that does not extend the last signed checkpoint, and says so', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const errors: string[] = [];
      const signer = new CheckpointSigner(db.pool, origin, readSigningKey(keyFile(dir), origin), {
        log: { error: (m) => errors.push(m), warn: () => undefined },
      });
      await appendEvents(store, conversationStream(), 4);
      await catchUpSequencer(db.pool, store);
      await signer.sign();
      // The owner rewrites a stored node of the signed part (triggers off), then the log grows:
      // a leaf hash, from which the subtree of the first four leaves (level 2, not stored) is computed.
      expect(await forgeStoredLeaf(db.pool, 0)).toBe(1);
      await appendEvents(store, conversationStream(), 1);
      await catchUpSequencer(db.pool, store);
      await expect(signer.sign()).rejects.toThrow(SigningRefused);
      expect(signer.state).toMatchObject({ status: 'refused' });
      expect(errors.join()).toMatch(/does not extend the checkpoint signed at 4/);
      expect((await db.pool.query('SELECT max(tree_size)::int AS n FROM tlog_checkpoints')).rows[0].n).toBe(4);
    });

    it('after a restart, refuses a rewritten tree whose newer checkpoints were deleted (CHECKPOINT_DIR)', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      const outDir = join(dir, 'checkpoints');
      await appendEvents(store, conversationStream(), 4);
      await catchUpSequencer(db.pool, store);
      const first = new CheckpointSigner(db.pool, origin, key, { checkpointDir: outDir, log: silent });
      await first.sign();
      await appendEvents(store, conversationStream(), 2);
      await catchUpSequencer(db.pool, store);
      expect((await first.sign())!.treeSize).toBe(6);
      // Files the signer cannot verify: garbage, and a checkpoint of a key that is not the log's.
      writeFileSync(join(outDir, 'checkpoint-000000000099.txt'), 'not a checkpoint\n');
      const stranger = readSigningKey(keyFile(dir, 'stranger.pem'), origin);
      const forged = signCheckpoint({ origin, size: 98, rootHash: Buffer.alloc(32, 7) }, stranger);
      writeFileSync(join(outDir, 'checkpoint-000000000098.txt'), forged);
      // The owner, triggers off: the subtree of leaves 4 and 5 rewritten through the stored leaf 5
      // (consistent with the checkpoint of 4, not with that of 6), the checkpoint of 6 deleted; then a restart.
      expect(await forgeStoredLeaf(db.pool, 5)).toBe(1);
      await db.pool.query('ALTER TABLE tlog_checkpoints DISABLE TRIGGER tlog_checkpoints_no_update');
      await db.pool.query('DELETE FROM tlog_checkpoints WHERE tree_size >= 6');
      await db.pool.query('ALTER TABLE tlog_checkpoints ENABLE ALWAYS TRIGGER tlog_checkpoints_no_update');
      await appendEvents(store, conversationStream(), 1);
      await catchUpSequencer(db.pool, store);
      const errors: string[] = [];
      const warnings: string[] = [];
      const restarted = new CheckpointSigner(db.pool, origin, key, {
        checkpointDir: outDir,
        log: { error: (m) => errors.push(m), warn: (m) => warnings.push(m) },
      });
      await expect(restarted.sign()).rejects.toThrow(SigningRefused);
      expect(restarted.state).toMatchObject({ status: 'refused' });
      expect(errors.join()).toMatch(/does not extend the checkpoint signed at 6/);
      expect(warnings.join()).toMatch(/checkpoint-000000000099\.txt .*ignored/);
      expect(warnings.join()).toMatch(/checkpoint-000000000098\.txt .*ignored/);
      expect((await db.pool.query('SELECT max(tree_size)::int AS n FROM tlog_checkpoints')).rows[0].n).toBe(4);
      // A tree smaller than the file's checkpoint (its leaves from the range of leaves 4 and 5 on gone): refused too.
      await dropStoredLeavesFrom(db.pool, 5);
      expect(await storedTreeSize(db.pool)).toBe(4);
      const again = new CheckpointSigner(db.pool, origin, key, { checkpointDir: outDir, log: silent });
      await expect(again.sign()).rejects.toThrow(/fewer than the 6 already signed/);
    });

    it('rotates keys: a new key takes over from a tree size; the old one signs no more, stays verifiable', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const oldKey = readSigningKey(keyFile(dir, 'old.pem'), origin);
      const newKey = readSigningKey(keyFile(dir, 'new.pem'), origin);
      await appendEvents(store, conversationStream(), 3);
      await catchUpSequencer(db.pool, store);
      const old = (await new CheckpointSigner(db.pool, origin, oldKey, { log: silent }).sign())!;
      await appendEvents(store, conversationStream(), 3);
      await catchUpSequencer(db.pool, store);
      const rotated = new CheckpointSigner(db.pool, origin, newKey, { log: silent });
      expect((await rotated.sign())!.treeSize).toBe(6);
      await appendEvents(store, conversationStream(), 1);
      await catchUpSequencer(db.pool, store);
      await expect(new CheckpointSigner(db.pool, origin, oldKey, { log: silent }).sign()).rejects.toThrow(/retired/);
      expect(
        (await logKeys(db.pool)).map(({ verifierKey, fromTreeSize, toTreeSize }) => ({
          verifierKey,
          fromTreeSize,
          toTreeSize,
        })),
      ).toEqual([
        { verifierKey: oldKey.verifierKey, fromTreeSize: 3, toTreeSize: 3 },
        { verifierKey: newKey.verifierKey, fromTreeSize: 6, toTreeSize: undefined },
      ]);
      expect(openCheckpoint(old.note, [parseVerifierKey(oldKey.verifierKey)]).size).toBe(3);
    });

    it('keeps the origin it stored first: another LOG_ORIGIN later stops the start', async () => {
      expect(await resolveOrigin(db.pool, undefined)).toMatch(/^conversation-log\/[A-Za-z0-9._-]+\/[0-9a-f]{12}$/);
      const stored = await resolveOrigin(db.pool, undefined);
      await expect(resolveOrigin(db.pool, 'other.example/log')).rejects.toThrow(/LOG_ORIGIN/);
      expect(await resolveOrigin(db.pool, stored)).toBe(stored);
    });

    it('signing-key files: PKCS#8 PEM with mode 0600, never overwritten, Ed25519 only', () => {
      const file = keyFile(dir);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(() => createSigningKeyFile(file)).toThrow(SigningKeyFileExists);
      const rsa = join(dir, 'rsa.pem');
      require('node:fs').writeFileSync(
        rsa,
        generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
      );
      expect(() => readSigningKey(rsa, ORIGIN)).toThrow(/Ed25519/);
    });
  });

  describe('proofs and checkpoints for other code', () => {
    it('answers inclusion proofs by event or stream version, tenant-scoped; a covering checkpoint', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      const log = new TransparencyLog(db.pool, origin, new CheckpointSigner(db.pool, origin, key, { log: silent }));
      const stream = conversationStream();
      const ids = await appendEvents(store, stream, 3, 'acme');
      const other = await appendEvents(store, conversationStream(), 2, 'globex');
      await catchUpSequencer(db.pool, store);
      const position = (await store.headPosition())!;
      const checkpoint = await log.checkpointCovering(position);
      expect(checkpoint.treeSize).toBe(5);
      const proof = await log.inclusion({ eventId: ids[1] });
      expect(proof).toMatchObject({ leafIndex: 1, treeSize: 5, streamId: stream, version: 2 });
      expect(verifyInclusion(1, 5, proof.leafHash, proof.hashes, checkpoint.rootHash)).toBe(true);
      expect((await log.inclusion({ streamId: stream, version: 2 }, 3)).leafIndex).toBe(1);
      await expect(log.inclusion({ eventId: other[0] }, undefined, 'acme')).rejects.toThrow(/not in the tree/);
      await expect(log.inclusion({ eventId: ids[2] }, 2)).rejects.toThrow(/not in the tree/);
      await expect(log.inclusion({ eventId: ids[0] }, 6)).rejects.toThrow(/beyond the current tree/);
      // Already covered: the same checkpoint, nothing signed.
      expect((await log.checkpointCovering(position)).note).toBe(checkpoint.note);
    });
  });

  describe('fifty callers at once', () => {
    it('share one signature when each needs a checkpoint covering the same new events', async () => {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      const signer = new CheckpointSigner(db.pool, origin, key, { log: silent });
      const log = new TransparencyLog(db.pool, origin, signer);
      const signings = jest.spyOn(signer, 'sign');
      await appendEvents(store, conversationStream(), 4, 'acme');
      await catchUpSequencer(db.pool, store);
      const position = (await store.headPosition())!;
      const count = async () => Number((await db.pool.query('SELECT count(*) FROM tlog_checkpoints')).rows[0].count);
      const before = await count();
      const checkpoints = await Promise.all(Array.from({ length: 50 }, () => log.checkpointCovering(position)));
      expect(new Set(checkpoints.map((c) => c.note)).size).toBe(1);
      expect(await count()).toBe(before + 1);
      // One signing pass (lock, root, consistency proofs), not fifty queued on the signer's lock.
      expect(signings).toHaveBeenCalledTimes(1);
    });
  });

  describe('verifying the log against a signed checkpoint', () => {
    async function signedLog() {
      const origin = await resolveOrigin(db.pool, ORIGIN);
      const key = readSigningKey(keyFile(dir), origin);
      const streams = [conversationStream(), conversationStream(), conversationStream()];
      const ids: string[][] = [];
      for (const s of streams) ids.push(await appendEvents(store, s, 3));
      await catchUpSequencer(db.pool, store);
      const signed = (await new CheckpointSigner(db.pool, origin, key, { log: silent }).sign())!;
      return { streams, ids, note: signed.note, verifier: parseVerifierKey(key.verifierKey) };
    }

    it('passes on an intact log', async () => {
      const { note, verifier } = await signedLog();
      const result = await verifyAgainstCheckpoint(db.pool, note, [verifier]);
      expect(result).toMatchObject({ ok: true, treeSize: 9, events: 9 });
    });

    it('names the first leaf that differs: a rewritten event and chain, then a deleted stream', async () => {
      const { streams, ids, note, verifier } = await signedLog();
      await rewriteEvent(db.pool, store, streams[1], 2);
      let result = await verifyAgainstCheckpoint(db.pool, note, [verifier]);
      expect(result).toMatchObject({ ok: false, firstDifference: { leafIndex: 4, throughLeaf: 4 } });
      expect(result.message).toContain(`leaf 4 (now event ${ids[1][1]}, ${streams[1]} version 2)`);

      await deleteStream(db.pool, streams[0]);
      result = await verifyAgainstCheckpoint(db.pool, note, [verifier]);
      expect(result).toMatchObject({ ok: false, events: 6, firstDifference: { leafIndex: 0 } });
      expect(result.message).toMatch(/^FAILED: the log holds 6 events where the checkpoint signed 9; leaf 0/);
    });

    it('names the first leaf of a reordered log', async () => {
      const { ids, note, verifier } = await signedLog();
      await swapOrder(db.pool, ids[1][0], ids[2][0]);
      const result = await verifyAgainstCheckpoint(db.pool, note, [verifier]);
      expect(result).toMatchObject({ ok: false, firstDifference: { leafIndex: 3 } });
    });

    it('refuses a checkpoint signed by another key', async () => {
      const { note } = await signedLog();
      const stranger = readSigningKey(keyFile(dir, 'stranger.pem'), ORIGIN);
      await expect(verifyAgainstCheckpoint(db.pool, note, [parseVerifierKey(stranger.verifierKey)])).rejects.toThrow();
    });
  });
});
