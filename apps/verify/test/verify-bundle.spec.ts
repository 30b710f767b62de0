import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalEvent, chainHash } from '@app/event-store';
import { generateSigningKeyPem, signCheckpoint, signerFromPem } from '@app/tlog';
import {
  BundleContents,
  makeTestBundle,
  sealManifest,
  tarOf,
  TestBundle,
  writeBundle,
} from '../../../libs/tlog/test/bundle-builder';
import { runVerifier } from '../../../libs/tlog/test/run-verifier';

// The offline verifier run as a child process (node apps/verify/bin/…, no build) on bundles built with the
// service's own code, valid and tampered with.

let root: string;
let good: TestBundle;
let n = 0;
const KEY_PEM = generateSigningKeyPem();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'verify-bundle-'));
  good = await makeTestBundle({ signingKeyPem: KEY_PEM });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes a copy of the good bundle, changed by `edit`, and answers its directory. */
function bundleWith(edit: (c: BundleContents) => void = () => undefined): string {
  const contents = { ...good.contents };
  edit(contents);
  return writeBundle(join(root, `b${++n}`), contents);
}

const eventLines = (c: BundleContents) => c['events.ndjson'].split('\n').slice(0, -1);
const setEventLines = (c: BundleContents, lines: string[]) => {
  c['events.ndjson'] = lines.map((l) => `${l}\n`).join('');
};
const proofLines = (c: BundleContents) =>
  c['proofs.ndjson']
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l));
const setProofLines = (c: BundleContents, proofs: object[]) => {
  c['proofs.ndjson'] = proofs.map((p) => `${JSON.stringify(p)}\n`).join('');
};
const pinned = () => ['--key', good.verifierKey];
const S1 = 'conversation-00000000-0000-4000-8000-000000000001';
const S2 = 'conversation-00000000-0000-4000-8000-000000000002';

async function expectFailure(dir: string, firstFailure: string | RegExp, args: string[] = pinned()) {
  const { code, stdout } = await runVerifier([...args, dir]);
  const last = stdout.trim().split('\n').at(-1)!;
  expect({ code, last }).toEqual({ code: 1, last: expect.stringMatching(/^FAILED: /) });
  if (typeof firstFailure === 'string') expect(last).toContain(firstFailure);
  else expect(last).toMatch(firstFailure);
  return stdout;
}

describe('conversation-audit-verify', () => {
  describe('a valid bundle', () => {
    it('verifies with the pinned key: a line per check, totals, "verified", exit 0', async () => {
      const { code, stdout } = await runVerifier([...pinned(), bundleWith()]);
      expect(code).toBe(0);
      const lines = stdout.trim().split('\n');
      expect(lines.at(-1)).toBe('verified');
      for (const name of ['bundle', 'key', 'manifest', 'manifest.sig', 'checkpoint', 'events', 'proofs', 'count']) {
        expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok +${name.replace('.', '\\.')} `)));
      }
      expect(stdout).toContain(
        `totals: 9 checks, 9 passed, 0 failed; 8 events in 3 streams; tree size ${good.treeSize}`,
      );
      expect(stdout).toContain('(pinned)');
      expect(stdout).not.toContain('warning');
    });

    it('verifies with the key from a file, and as a tar archive', async () => {
      const keyFile = join(root, 'vkey.txt');
      writeFileSync(keyFile, `${good.verifierKey}\n`);
      expect((await runVerifier(['--key-file', keyFile, bundleWith()])).code).toBe(0);
      const tar = join(root, 'bundle.tar');
      writeFileSync(tar, tarOf(good.contents));
      const { code, stdout } = await runVerifier([...pinned(), tar]);
      expect({ code, last: stdout.trim().split('\n').at(-1) }).toEqual({ code: 0, last: 'verified' });
    });

    it('verifies without a pinned key but says so', async () => {
      const { code, stdout } = await runVerifier([bundleWith()]);
      expect(code).toBe(0);
      expect(stdout).toContain('NOT pinned');
      expect(stdout).toContain('warning: the key was not pinned');
    });

    it('answers a machine-readable report with --json', async () => {
      const { code, stdout } = await runVerifier(['--json', ...pinned(), bundleWith()]);
      expect(code).toBe(0);
      const report = JSON.parse(stdout);
      expect(report).toMatchObject({
        verified: true,
        failure: null,
        keyPinned: true,
        verifierKey: good.verifierKey,
        origin: good.origin,
        treeSize: good.treeSize,
        events: 8,
        streams: 3,
      });
      expect(report.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    });

    it('verifies a bundle of one stream of one event in a tree of one leaf, and an empty one', async () => {
      const one = await makeTestBundle({ streams: [1], otherLeaves: 0 });
      expect((await runVerifier(['--key', one.verifierKey, writeBundle(join(root, 'one'), one.contents)])).code).toBe(
        0,
      );
      const none = await makeTestBundle({ streams: [], otherLeaves: 3 });
      expect(
        (await runVerifier(['--key', none.verifierKey, writeBundle(join(root, 'none'), none.contents)])).code,
      ).toBe(0);
    });
  });

  describe('a tampered bundle fails, naming the first failure', () => {
    it('a changed byte of content', async () => {
      const dir = bundleWith((c) =>
        setEventLines(
          c,
          eventLines(c).map((l, i) => (i === 1 ? l.replace('héllo', 'hallo') : l)),
        ),
      );
      const out = await expectFailure(
        dir,
        /^FAILED: events\.ndjson line 2 \(stream conversation-\S+ version 2\): the content does not match its hash$/,
      );
      expect(out).toMatch(/FAILED files +events\.ndjson: SHA-256/);
    });

    it('a changed byte of content with the hash recomputed', async () => {
      const dir = bundleWith((c) => {
        const lines = eventLines(c);
        const row = JSON.parse(lines[1]);
        row.stored.data.text = 'rewritten';
        row.stored.hash = chainHash(row.stored.prevHash, canonicalEvent(row.stored));
        lines[1] = JSON.stringify(row);
        setEventLines(c, lines);
      });
      await expectFailure(dir, `events.ndjson line 3 (stream ${S1} version 3): prevHash does not link to version 2`);
    });

    it('a dropped event in the middle, at the end and at the start of a stream', async () => {
      const drop = (index: number) =>
        bundleWith((c) =>
          setEventLines(
            c,
            eventLines(c).filter((_, i) => i !== index),
          ),
        );
      await expectFailure(drop(1), `events.ndjson line 2 (stream ${S1} version 3): follows version 1`);
      await expectFailure(
        drop(2),
        /^FAILED: proofs\.ndjson line 1 \(stream \S+ version 3\): not the stream's last exported event \(version 2/,
      );
      await expectFailure(
        drop(0),
        `events.ndjson line 1 (stream ${S1} version 2): the stream does not start at version 1`,
      );
    });

    it('a dropped stream', async () => {
      const dir = bundleWith((c) =>
        setEventLines(
          c,
          eventLines(c).filter((l) => !l.includes('conversation-00000000-0000-4000-8000-000000000002')),
        ),
      );
      await expectFailure(dir, `proofs.ndjson line 2 (stream ${S2} version 1): no such stream`);
    });

    it('a swapped order: two events of a stream, and two streams interleaved', async () => {
      const swap = (a: number, b: number) =>
        bundleWith((c) => {
          const lines = eventLines(c);
          [lines[a], lines[b]] = [lines[b], lines[a]];
          setEventLines(c, lines);
        });
      await expectFailure(swap(1, 2), `events.ndjson line 2 (stream ${S1} version 3): follows version 1`);
      await expectFailure(
        swap(2, 3),
        `events.ndjson line 4 (stream ${S1} version 3): the stream appears again after another stream`,
      );
    });

    it('a forged checkpoint: another root under the old signature', async () => {
      const dir = bundleWith((c) => {
        const [origin, size, , ...rest] = c['checkpoint.txt'].split('\n');
        c['checkpoint.txt'] = [origin, size, Buffer.alloc(32, 1).toString('base64'), ...rest].join('\n');
      });
      await expectFailure(dir, `checkpoint.txt: the signature of ${good.origin} does not verify`);
    });

    it('a forged checkpoint: another root signed with another key', async () => {
      const forger = signerFromPem(good.origin, generateSigningKeyPem());
      const forge = (c: BundleContents) => {
        c['checkpoint.txt'] = signCheckpoint(
          { origin: good.origin, size: good.treeSize, rootHash: Buffer.alloc(32, 1) },
          forger,
        );
      };
      await expectFailure(bundleWith(forge), `checkpoint.txt: no signature of ${good.origin}+`);
      // The whole bundle consistently re-signed by the forger, its verifier-key.txt included: only pinning catches it.
      const resigned = bundleWith((c) => {
        forge(c);
        c['verifier-key.txt'] = `${forger.verifierKey}\n`;
        sealManifest(c, forger);
      });
      await expectFailure(
        resigned,
        `verifier-key.txt holds ${forger.verifierKey}, not the pinned key ${good.verifierKey}`,
      );
      const unpinned = await expectFailure(resigned, 'proofs.ndjson line 1', []);
      expect(unpinned).toContain("does not lead to the checkpoint's root");
    });

    it('a wrong pinned key', async () => {
      const other = signerFromPem(good.origin, generateSigningKeyPem()).verifierKey;
      await expectFailure(bundleWith(), `verifier-key.txt holds ${good.verifierKey}, not the pinned key ${other}`, [
        '--key',
        other,
      ]);
    });

    it('a manifest whose file hash does not match (signed as it is)', async () => {
      const dir = bundleWith((c) =>
        sealManifest(c, signerFromPem(good.origin, KEY_PEM), { files: { 'proofs.ndjson': 'ab'.repeat(32) } }),
      );
      await expectFailure(dir, /^FAILED: proofs\.ndjson: SHA-256 [0-9a-f]{64}, manifest\.json says (ab){32}$/);
    });

    it('an extra field beside "stored" changed: only the file hash catches it', async () => {
      const dir = bundleWith((c) =>
        setEventLines(
          c,
          eventLines(c).map((l) => l.replace('"note":"x"', '"note":"y"')),
        ),
      );
      await expectFailure(dir, /^FAILED: events\.ndjson: SHA-256 [0-9a-f]{64}, manifest\.json says [0-9a-f]{64}$/);
    });

    it('a manifest changed after signing', async () => {
      const dir = bundleWith((c) => {
        c['manifest.json'] = c['manifest.json'].replace('"count":8', '"count":7');
      });
      await expectFailure(
        dir,
        /^FAILED: manifest\.sig signs sha256 [0-9a-f]{64}, manifest\.json is sha256 [0-9a-f]{64}$/,
      );
    });

    it('a manifest naming a file outside the bundle (signed as it is)', async () => {
      const signer = signerFromPem(good.origin, KEY_PEM);
      const dir = bundleWith((c) => sealManifest(c, signer, { files: { '../outside.txt': 'ab'.repeat(32) } }));
      await expectFailure(dir, 'manifest.json lists a file that is not a plain name at the top of the bundle');
    });

    it('a count that does not match (signed as it is)', async () => {
      const dir = bundleWith((c) => sealManifest(c, signerFromPem(good.origin, KEY_PEM), { count: 9 }));
      await expectFailure(dir, 'manifest.json says count 9, events.ndjson holds 8 events');
    });

    it('a proof for another leaf', async () => {
      const other = bundleWith((c) => {
        const proofs = proofLines(c);
        proofs[0] = { ...proofs[0], leafIndex: proofs[2].leafIndex, hashes: proofs[2].hashes };
        setProofLines(c, proofs);
      });
      await expectFailure(
        other,
        /^FAILED: proofs\.ndjson line 1 \(stream \S+ version 3\): the inclusion proof of leaf \d+ does not lead to the/,
      );
      const otherLeaf = bundleWith((c) => {
        const proofs = proofLines(c);
        proofs[0] = {
          ...proofs[2],
          streamId: proofs[0].streamId,
          version: proofs[0].version,
          eventId: proofs[0].eventId,
        };
        setProofLines(c, proofs);
      });
      await expectFailure(
        otherLeaf,
        /^FAILED: proofs\.ndjson line 1 \(stream \S+ version 3\): leafHash is not the leaf of that event's hash/,
      );
      const missing = bundleWith((c) => setProofLines(c, proofLines(c).slice(1)));
      await expectFailure(
        missing,
        /^FAILED: stream conversation-\S+001: no inclusion proof of its last event \(version 3\)$/,
      );
    });

    it('a truncated file: events, proofs, checkpoint, the tar archive', async () => {
      const cut = (name: keyof BundleContents, keep: number) =>
        bundleWith((c) => {
          c[name] = c[name].slice(0, keep);
        });
      await expectFailure(
        cut('events.ndjson', good.contents['events.ndjson'].length - 10),
        'events.ndjson line 8: truncated',
      );
      await expectFailure(cut('proofs.ndjson', 20), 'proofs.ndjson line 1: truncated');
      await expectFailure(cut('checkpoint.txt', 30), 'checkpoint.txt: a note is a text, a blank line, signature lines');
      const tar = join(root, 'cut.tar');
      writeFileSync(tar, tarOf(good.contents));
      truncateSync(tar, 1500);
      await expectFailure(tar, /^FAILED: cannot read the bundle: the tar archive is truncated/);
    });

    it('a missing file', async () => {
      const dir = bundleWith();
      rmSync(join(dir, 'proofs.ndjson'));
      await expectFailure(dir, 'FAILED: proofs.ndjson is missing');
    });
  });

  describe('usage', () => {
    it('exits 2 on a malformed key, no bundle or an unknown option', async () => {
      for (const args of [['--key', 'not-a-key', 'x'], [], ['--what', 'x'], ['a', 'b']]) {
        const { code, stderr } = await runVerifier(args);
        expect({ code, usage: stderr.includes('usage: conversation-audit-verify') }).toEqual({ code: 2, usage: true });
      }
    });
  });
});
