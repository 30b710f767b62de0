import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { buildTestBundle, tarOf } from '../../tlog/test/bundle-builder';
import { runVerifier } from '../../tlog/test/run-verifier';
import { fileHeaders, tarOfFiles, ustarHeader } from './bundle-tar';
import { BUNDLE_FILES } from './export-bundle';

const checksumOk = (h: Buffer): boolean => {
  const stored = parseInt(h.subarray(148, 156).toString('ascii'), 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === stored;
};

describe('the bundle archive (ustar)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bundle-tar-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is byte for byte the archive the verifier’s tests build, and the verifier accepts it', async () => {
    const bundle = await buildTestBundle(join(dir, 'b'), { streams: [700, 1, 3] });
    const tar = await buffer(tarOfFiles(join(dir, 'b'), BUNDLE_FILES, 0));
    const ordered = Object.fromEntries(BUNDLE_FILES.map((n) => [n, bundle.contents[n]]));
    expect(tar.equals(tarOf(ordered))).toBe(true);
    expect(tar.length % 512).toBe(0);
    writeFileSync(join(dir, 'bundle.tar'), tar);
    const run = await runVerifier(['--key', bundle.verifierKey, join(dir, 'bundle.tar')]);
    expect([run.code, run.stdout]).toEqual([0, expect.stringContaining('verified')]);
  });

  it('is read by the system tar: plain names at the top level, sizes and times', async () => {
    const b = join(dir, 'b');
    await buildTestBundle(b);
    writeFileSync(join(dir, 'bundle.tar'), await buffer(tarOfFiles(b, BUNDLE_FILES, 1_750_000_000)));
    const listed = execFileSync('tar', ['-tf', join(dir, 'bundle.tar')], { encoding: 'utf8' });
    expect(listed.trim().split('\n')).toEqual([...BUNDLE_FILES]);
    execFileSync('tar', ['-xf', join(dir, 'bundle.tar'), '-C', dir]);
    const run = await runVerifier([dir]);
    expect(run.code).toBe(0);
  });

  it('writes headers with a valid checksum, and a pax size record beyond 8 GiB', () => {
    const h = ustarHeader('events.ndjson', 1234, 1_750_000_000);
    expect(checksumOk(h)).toBe(true);
    expect(h.subarray(124, 136).toString('ascii')).toBe('00000002322\0');
    expect(h.subarray(257, 265).toString('ascii')).toBe('ustar\u000000');

    const size = 2 ** 33 + 5;
    const [pax, record, padding, file] = fileHeaders('events.ndjson', size, 0);
    expect(String.fromCharCode(pax[156])).toBe('x');
    expect([checksumOk(pax), checksumOk(file)]).toEqual([true, true]);
    const text = record.toString('utf8');
    expect(text).toBe(`${text.length} size=${size}\n`);
    expect(parseInt(pax.subarray(124, 136).toString('ascii'), 8)).toBe(record.length);
    expect((record.length + padding.length) % 512).toBe(0);
    expect(fileHeaders('events.ndjson', 2 ** 33 - 1, 0)).toHaveLength(1);
  });

  it('refuses names that are not plain file names', () => {
    for (const name of ['', '../x', 'a/b', 'x'.repeat(101)]) expect(() => ustarHeader(name, 0, 0)).toThrow();
  });
});
