// Audit bundles made in tests with the service's own code (@app/tlog, the event store's chain hash), in the
// format of apps/verify/README.md, so the offline verifier can be tested against good and tampered ones.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalEvent, chainHash, GENESIS_HASH } from '@app/event-store';
import { Frontier, generateSigningKeyPem, inclusionProof, leafHash, MemorySubtreeSource, NoteSigner } from '../src';
import { signCheckpoint, signerFromPem, signNote } from '../src';

export const BUNDLE_FILES = [
  'events.ndjson',
  'proofs.ndjson',
  'checkpoint.txt',
  'verifier-key.txt',
  'manifest.json',
  'manifest.sig',
] as const;
export type BundleFileName = (typeof BUNDLE_FILES)[number];
/** A bundle's files by name, as strings (every file of a bundle is UTF-8 text). */
export type BundleContents = Record<BundleFileName, string>;

export interface TestBundleOptions {
  /** Events per exported stream; default [3, 1, 4]. */
  streams?: number[];
  /** Leaves of events not exported, spread between the exported ones in commit order; default 5. */
  otherLeaves?: number;
  origin?: string;
  /** PKCS#8 PEM; default a fresh Ed25519 key. */
  signingKeyPem?: string;
}

export interface TestBundle {
  contents: BundleContents;
  origin: string;
  signingKeyPem: string;
  verifierKey: string;
  treeSize: number;
  /** The exported events' `stored` objects, in file order. */
  stored: StoredLine[];
}

export interface StoredLine {
  streamId: string;
  version: number;
  eventId: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  occurredAt: string;
  prevHash: string;
  hash: string;
  position: string;
}

/** Builds a valid bundle in memory. */
export async function makeTestBundle(options: TestBundleOptions = {}): Promise<TestBundle> {
  const origin = options.origin ?? 'audit.example/test-log';
  const signingKeyPem = options.signingKeyPem ?? generateSigningKeyPem();
  const signer = signerFromPem(origin, signingKeyPem);
  const streams = (options.streams ?? [3, 1, 4]).map((n, s) => chained(s, n));
  const others = options.otherLeaves ?? 5;

  // Commit order: the streams' events round-robin, with other events' leaves in between.
  const leaves: Buffer[] = [];
  const leafIndexOf = new Map<StoredLine, number>();
  const longest = Math.max(0, ...streams.map((s) => s.length));
  let otherLeft = others;
  for (let round = 0; round < longest || otherLeft > 0; round++) {
    for (const s of streams) {
      const e = s[round];
      if (!e) continue;
      leafIndexOf.set(e, leaves.length);
      e.position = `1-${leaves.length + 1}`;
      leaves.push(leafHash(Buffer.from(e.hash, 'hex')));
    }
    if (otherLeft-- > 0) leaves.push(leafHash(Buffer.from(`another event ${round}`)));
  }
  const frontier = Frontier.empty();
  const src = new MemorySubtreeSource(frontier.append(leaves));
  const treeSize = frontier.size;
  const rootHash = frontier.root();

  const stored = streams.flat();
  const events = stored.map((e, i) =>
    JSON.stringify(i === stored.length - 1 ? { stored: e, end: { note: 'x' } } : { stored: e }),
  );
  const proofs: string[] = [];
  for (const s of streams) {
    const last = s[s.length - 1];
    const index = leafIndexOf.get(last)!;
    const hashes = await inclusionProof(src, index, treeSize);
    proofs.push(
      JSON.stringify({
        streamId: last.streamId,
        version: last.version,
        eventId: last.eventId,
        leafIndex: index,
        treeSize,
        leafHash: leaves[index].toString('base64'),
        hashes: hashes.map((h) => h.toString('base64')),
      }),
    );
  }
  const contents = {
    'events.ndjson': lines(events),
    'proofs.ndjson': lines(proofs),
    'checkpoint.txt': signCheckpoint({ origin, size: treeSize, rootHash }, signer),
    'verifier-key.txt': `${signer.verifierKey}\n`,
  } as BundleContents;
  sealManifest(contents, signer, { count: stored.length });
  return { contents, origin, signingKeyPem, verifierKey: signer.verifierKey, treeSize, stored };
}

/**
 * (Re)writes manifest.json over the other files and signs it: what the exporter does last, and what a forger
 * holding a key would redo after changing files. `overrides` replace manifest fields (e.g. a wrong hash).
 */
export function sealManifest(
  contents: BundleContents,
  signer: NoteSigner,
  overrides: { count?: number; files?: Partial<Record<string, string>> } = {},
): void {
  const checkpointBody = contents['checkpoint.txt'].split('\n');
  const origin = checkpointBody[0];
  const files: Record<string, string> = {};
  for (const name of ['events.ndjson', 'proofs.ndjson', 'checkpoint.txt', 'verifier-key.txt'] as const) {
    files[name] = sha256(contents[name]);
  }
  const manifest = {
    type: 'manifest',
    origin,
    count: overrides.count ?? contents['events.ndjson'].split('\n').length - 1,
    filters: {},
    position: '1-1',
    checkpoint: { treeSize: Number(checkpointBody[1]), rootHash: checkpointBody[2] },
    files: { ...files, ...overrides.files },
    createdAt: '2025-03-03T10:00:00.000Z',
  };
  contents['manifest.json'] = JSON.stringify(manifest);
  contents['manifest.sig'] = signNote(
    `conversation-audit-manifest\n${origin}\nsha256 ${sha256(contents['manifest.json'])}\n`,
    [signer],
  );
}

/** Writes the bundle's files into `dir` (created when missing); `contents` may leave files out. */
export function writeBundle(dir: string, contents: Partial<BundleContents>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Builds a valid bundle and writes it into `dir`. */
export async function buildTestBundle(dir: string, options: TestBundleOptions = {}): Promise<TestBundle> {
  const bundle = await makeTestBundle(options);
  writeBundle(dir, bundle.contents);
  return bundle;
}

/** The files as one ustar archive, at its top level (the shape of GET /v1/audit/export?bundle=1). */
export function tarOf(contents: Partial<BundleContents>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(contents)) {
    const data = Buffer.from(text, 'utf8');
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'ascii');
    header.write('0000000\0', 108, 'ascii');
    header.write('0000000\0', 116, 'ascii');
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write('00000000000\0', 136, 'ascii');
    header.write('        ', 148, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\u000000', 257, 'ascii');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const lines = (items: string[]) => items.map((l) => `${l}\n`).join('');
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A correctly chained stream: fixed ids and times, content with non-ASCII text and numbers. */
function chained(s: number, n: number): StoredLine[] {
  const streamId = `conversation-00000000-0000-4000-8000-${String(s + 1).padStart(12, '0')}`;
  const out: StoredLine[] = [];
  let prevHash = GENESIS_HASH;
  for (let version = 1; version <= n; version++) {
    const e: StoredLine = {
      streamId,
      version,
      eventId: `0190a000-0000-7000-8000-${String(s * 1000 + version).padStart(12, '0')}`,
      type: version === 1 ? 'ConversationStarted' : 'MessageAdded',
      data: { text: `héllo € ${s}/${version} "quoted" \u2028`, tokens: 1e21, nested: { b: [1, 0.5], a: null } },
      metadata: { tenantId: 'acme', actor: { kind: 'user', id: 'u-1' } },
      occurredAt: `2025-03-03T10:00:0${version % 10}.000Z`,
      prevHash,
      hash: '',
      position: '',
    };
    e.hash = chainHash(prevHash, canonicalEvent(e as Parameters<typeof canonicalEvent>[0]));
    prevHash = e.hash;
    out.push(e);
  }
  return out;
}
