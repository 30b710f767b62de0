import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase, testContentKeys } from '@app/testing';
import {
  catchUpSequencer,
  CheckpointSigner,
  createSigningKeyFile,
  readSigningKey,
  resolveOrigin,
  TransparencyLog,
} from '@app/transparency';
import { runVerifier } from '../../tlog/test/run-verifier';
import { BundleLogBehind, BundleSigningKeyMissing, writeAuditBundle } from './export-bundle';

const ORIGIN = 'test.example/bundle-log';
const silent = { error: () => undefined, warn: () => undefined };

/** The refusals of writeAuditBundle, before anything is signed or half a bundle is left to trust. */
describe('audit bundle: refusals', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let dir: string;
  let n = 0;

  const signerOf = async (name: string) => {
    const file = join(dir, `${name}.pem`);
    createSigningKeyFile(file);
    const origin = await resolveOrigin(db.pool, ORIGIN);
    return new CheckpointSigner(db.pool, origin, readSigningKey(file, origin), { log: silent });
  };
  const out = () => mkdtempSync(join(dir, `bundle-${++n}-`));
  const append = (events: number) =>
    store.append(
      `test-${randomUUID()}`,
      Array.from({ length: events }, (_, i) => ({
        eventId: randomUUID(),
        type: 'TestHappened',
        data: { i },
        metadata: { tenantId: 't-1' },
        occurredAt: '2026-01-02T03:04:05.000Z',
      })),
      { expectedVersion: 'any' },
    );

  /** The ends projection's checkpoint at the head of the log: where an export is cut (none of them are ends). */
  const endsAtHead = async () => {
    await db.pool.query(
      `INSERT INTO projection_checkpoints (name, position) VALUES ('ends', $1)
       ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position`,
      [await store.headPosition()],
    );
  };

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    dir = mkdtempSync(join(tmpdir(), 'bundle-int-'));
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await store.close();
    await db.drop();
  });

  it('needs the signing key: without one it refuses before reading anything', async () => {
    const origin = await resolveOrigin(db.pool, ORIGIN);
    const target = out();
    await expect(
      writeAuditBundle(db.pool, new TransparencyLog(db.pool, origin, null), target, {
        keys: testContentKeys(db.pool),
        filters: {},
      }),
    ).rejects.toBeInstanceOf(BundleSigningKeyMissing);
    expect(readdirSync(target)).toEqual([]);
  });

  it('waits for the sequencer to reach the export’s position, and says when it has not', async () => {
    await append(3);
    await endsAtHead();
    const signer = await signerOf('key');
    const log = new TransparencyLog(db.pool, signer.origin, signer);
    await expect(
      writeAuditBundle(db.pool, log, out(), { keys: testContentKeys(db.pool), filters: {}, sequencerTimeoutMs: 200 }),
    ).rejects.toBeInstanceOf(BundleLogBehind);
    await catchUpSequencer(db.pool, store);
    const target = out();
    const manifest = await writeAuditBundle(db.pool, log, target, { keys: testContentKeys(db.pool), filters: {} });
    expect(manifest).toMatchObject({ count: 0, checkpoint: { treeSize: 3 } });
    expect((await runVerifier(['--key', signer.verifierKey, target])).code).toBe(0);
  });

  it('signs with one key: after a rotation, not until the new key has signed a checkpoint of its own', async () => {
    await append(2);
    await endsAtHead();
    await catchUpSequencer(db.pool, store);
    const old = await signerOf('old');
    await old.sign();
    const rotated = await signerOf('new');
    const log = new TransparencyLog(db.pool, rotated.origin, rotated);
    await expect(
      writeAuditBundle(db.pool, log, out(), { keys: testContentKeys(db.pool), filters: {} }),
    ).rejects.toThrow(/signed by .* not this/);
    // The log grows; the new key signs the checkpoint that covers it.
    await append(1);
    await endsAtHead();
    await catchUpSequencer(db.pool, store);
    const target = out();
    const manifest = await writeAuditBundle(db.pool, log, target, { keys: testContentKeys(db.pool), filters: {} });
    expect(manifest.checkpoint.treeSize).toBe(3);
    expect((await runVerifier(['--key', rotated.verifierKey, target])).code).toBe(0);
    expect((await runVerifier(['--key', old.verifierKey, target])).code).toBe(1);
  });
});
