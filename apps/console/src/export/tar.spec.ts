// The browser's tar reader on archives made by the server's own writer (libs/audit/src/bundle-tar.ts).
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileHeaders, tarOfFiles } from '../../../../libs/audit/src/bundle-tar';
import { checkBundle, readTar, TarError } from './tar';

if (!globalThis.crypto) Object.assign(globalThis, { crypto: webcrypto });

// libs/audit/src/export-bundle.ts BUNDLE_FILES (not imported: it pulls in the database side).
const BUNDLE_FILES = [
  'events.ndjson',
  'proofs.ndjson',
  'checkpoint.txt',
  'verifier-key.txt',
  'manifest.json',
  'manifest.sig',
];

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the tar reader', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'console-tar-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A bundle as the server archives it; `manifestFiles` overrides what the manifest says. */
  async function bundle(manifestFiles?: Record<string, string>): Promise<Uint8Array> {
    const contents: Record<string, string> = {
      'events.ndjson': '{"stored":{"version":1}}\n'.repeat(40) + '{"stored":{"text":"Grüße 👋"}}\n',
      'proofs.ndjson': '{"proof":1}\n',
      'checkpoint.txt': 'origin\n5\nroot=\n\n— sig\n',
      'verifier-key.txt': 'origin+abcd+key\n',
      'manifest.sig': 'signed\n',
    };
    const files = Object.fromEntries(
      ['events.ndjson', 'proofs.ndjson', 'checkpoint.txt', 'verifier-key.txt'].map((n) => [n, sha(contents[n])]),
    );
    contents['manifest.json'] = `${JSON.stringify({ type: 'manifest', files: manifestFiles ?? files }, null, 2)}\n`;
    for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
    return new Uint8Array(await buffer(tarOfFiles(dir, BUNDLE_FILES, 1_700_000_000)));
  }

  it('reads every file of a bundle with its exact bytes, in order', async () => {
    const entries = readTar(await bundle());
    expect(entries.map((e) => e.name)).toEqual([...BUNDLE_FILES]);
    expect(new TextDecoder().decode(entries[0].data)).toMatch(/Grüße 👋"}}\n$/);
    expect(new TextDecoder().decode(entries[5].data)).toBe('signed\n');
  });

  it("shows manifest.json's SHA-256 of events.ndjson beside its own, and that they match", async () => {
    const check = await checkBundle(await bundle());
    expect(check.match).toBe(true);
    expect(check.records).toBe(41);
    expect(check.computedSha256).toBe(check.manifestSha256);
    expect(check.files.map((f) => f.name)).toEqual([
      'events.ndjson',
      'proofs.ndjson',
      'checkpoint.txt',
      'verifier-key.txt',
    ]);
  });

  it('says so when a file is not what the manifest names', async () => {
    const check = await checkBundle(await bundle({ 'events.ndjson': sha('other'), 'proofs.ndjson': sha('x') }));
    expect(check.match).toBe(false);
    expect(check.manifestSha256).toBe(sha('other'));
    expect(check.computedSha256).not.toBe(sha('other'));
  });

  it('refuses a damaged header, a cut archive, and a pax size beyond the bytes', async () => {
    const tar = await bundle();
    const damaged = Uint8Array.from(tar);
    damaged[3] ^= 1;
    expect(() => readTar(damaged)).toThrow(/checksum/);
    expect(() => readTar(tar.subarray(0, 700))).toThrow(/ends inside events.ndjson/);
    expect(() => readTar(tar.subarray(0, tar.length - 1024))).toThrow(TarError);
    const big = new Uint8Array(Buffer.concat([...fileHeaders('huge.bin', 2 ** 34, 0), Buffer.alloc(2048)]));
    expect(() => readTar(big)).toThrow(/ends inside huge.bin/);
  });
});
