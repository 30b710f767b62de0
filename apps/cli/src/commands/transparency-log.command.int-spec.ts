import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore } from '@app/event-store';
import { loadConfig } from '@app/platform';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { openCheckpoint, parseVerifierKey } from '@app/tlog';
import { readSigningKey } from '@app/transparency';
import {
  appendEvents,
  conversationStream,
  deleteStream,
  rewriteEvent,
  swapOrder,
} from '../../../../libs/transparency/test/log-fixtures';
import { verify } from './verify.command';
import { checkpointCommand, signingKeyCreate, verifyCheckpoint } from './transparency-log.command';

const ORIGIN = 'cli.example/log';

/** CONTRACT.md's CLI for the transparency log, and the owner's attack it exists to catch. */
describe('transparency log CLI', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let dir: string;
  let keyFile: string;
  let lines: string[];
  let out: string;

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    dir = mkdtempSync(join(tmpdir(), 'tlog-cli-'));
    keyFile = join(dir, 'signing-key.pem');
    lines = [];
    out = '';
    jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    jest.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await store.close();
    await db.drop();
  });

  /** Three conversations of three events, a checkpoint signed by `checkpoint` and kept in a file elsewhere. */
  async function signedLog() {
    expect(signingKeyCreate({ out: keyFile })).toBe(0);
    const streams = [conversationStream(), conversationStream(), conversationStream()];
    const ids: string[][] = [];
    for (const s of streams) ids.push(await appendEvents(store, s, 3));
    const config = loadConfig({ LOG_ORIGIN: ORIGIN, SIGNING_KEY_FILE: keyFile });
    expect(await checkpointCommand(db.pool, config, keyFile)).toBe(0);
    const kept = join(dir, 'kept-checkpoint.txt');
    writeFileSync(kept, out);
    return { streams, ids, kept };
  }

  it('signing-key:create writes a 0600 key and refuses to overwrite it', () => {
    expect(signingKeyCreate({ out: keyFile })).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const before = readFileSync(keyFile, 'utf8');
    expect(signingKeyCreate({ out: keyFile })).toBe(1);
    expect(lines.at(-1)).toMatch(/never overwritten/);
    expect(readFileSync(keyFile, 'utf8')).toBe(before);
  });

  it('checkpoint sequences the log, signs it now and prints the note', async () => {
    await signedLog();
    const key = readSigningKey(keyFile, ORIGIN);
    expect(openCheckpoint(out, [parseVerifierKey(key.verifierKey)], ORIGIN)).toMatchObject({ size: 9 });
  });

  it("catches the owner's attack that plain verify cannot: a rewritten event with its chain and head", async () => {
    const { streams, ids, kept } = await signedLog();
    await rewriteEvent(db.pool, store, streams[1], 2);
    expect(await verify(db.pool, {})).toBe(0);
    expect(lines.at(-1)).toBe('ok 9 events');
    expect(await verifyCheckpoint(db.pool, { checkpoint: kept }, keyFile)).toBe(1);
    expect(lines.at(-1)).toMatch(new RegExp(`^FAILED: leaf 4 \\(now event ${ids[1][1]}, ${streams[1]} version 2\\)`));
  });

  it('passes on an intact log, with the key given as a verifier key', async () => {
    const { kept } = await signedLog();
    const vkey = readSigningKey(keyFile, ORIGIN).verifierKey;
    expect(await verifyCheckpoint(db.pool, { checkpoint: kept, key: vkey }, undefined)).toBe(0);
    expect(lines.at(-1)).toBe(`ok: the first 9 events of the log match the checkpoint of ${ORIGIN} at tree size 9`);
  });

  it('catches a deleted stream and a reordered log, naming the first leaf that differs', async () => {
    const { streams, ids, kept } = await signedLog();
    await swapOrder(db.pool, ids[1][0], ids[2][0]);
    // the chains still hold: verify is ok but names the stream that reads out of order; the log fails
    expect(await verify(db.pool, {})).toBe(0);
    expect(lines.at(-2)).toBe(`out of commit order: ${streams[1]} at version 2 commits before the version under it`);
    expect(lines.at(-1)).toBe('ok 9 events; 1 stream read out of version order');
    expect(await verifyCheckpoint(db.pool, { checkpoint: kept }, keyFile)).toBe(1);
    expect(lines.at(-1)).toMatch(/^FAILED: leaf 3 /);
    await deleteStream(db.pool, streams[0]);
    expect(await verify(db.pool, {})).toBe(0);
    expect(await verifyCheckpoint(db.pool, { checkpoint: kept }, keyFile)).toBe(1);
    expect(lines.at(-1)).toMatch(/^FAILED: the log holds 6 events where the checkpoint signed 9; leaf 0 /);
  });

  it('refuses a checkpoint that another key signed', async () => {
    const { kept } = await signedLog();
    const other = join(dir, 'other.pem');
    signingKeyCreate({ out: other });
    expect(await verifyCheckpoint(db.pool, { checkpoint: kept }, other)).toBe(1);
    expect(lines.at(-1)).toMatch(/^FAILED: the checkpoint does not verify/);
  });
});
