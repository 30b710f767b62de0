// @ts-check
'use strict';
// The checks of an audit bundle (apps/verify/README.md): every file's SHA-256 against the manifest, the
// manifest's and the checkpoint's signatures against the verifier key, every event's chain hash, the links
// and versions of each stream, and for each stream an inclusion proof of its last event up to the
// checkpoint's root.
const { createHash } = require('node:crypto');
const { openBundle, lines } = require('./bundle-files');
const { chainHash, GENESIS } = require('./chain');
const { fromBase64, isHex64 } = require('./encoding');
const { leafHash, verifyInclusion } = require('./merkle');
const { openNote, parseCheckpoint, parseVerifierKey } = require('./note');

const HASHED_FILES = ['events.ndjson', 'proofs.ndjson', 'checkpoint.txt', 'verifier-key.txt'];
const ALL_FILES = ['manifest.json', 'manifest.sig', ...HASHED_FILES];
const MANIFEST_STATEMENT = 'conversation-audit-manifest';

/**
 * @typedef {{ name: string, ok: boolean, detail: string, failure?: string, problems: number }} Check
 * @typedef {{ verified: boolean, failure: string | null, bundle: string, keyPinned: boolean,
 *   verifierKey: string | null, origin: string | null, treeSize: number | null, rootHash: string | null,
 *   events: number, streams: number, checks: Check[], warnings: string[] }} Report
 * @typedef {import('./note').Verifier} Verifier
 * @typedef {{ version: number, eventId: string, hash: string, line: number }} StreamEnd
 */

/**
 * @param {string} location a bundle directory or tar archive
 * @param {{ pinnedKey?: string }} [options] a verifier key the bundle must be signed with
 * @returns {Promise<Report>}
 */
async function verifyBundle(location, options = {}) {
  /** @type {Report} */
  const report = {
    verified: false,
    failure: null,
    bundle: location,
    keyPinned: options.pinnedKey !== undefined,
    verifierKey: null,
    origin: null,
    treeSize: null,
    rootHash: null,
    events: 0,
    streams: 0,
    checks: [],
    warnings: [],
  };
  /** @param {string} name */
  const check = (name) => {
    /** @type {Check} */
    const c = { name, ok: true, detail: '', problems: 0 };
    report.checks.push(c);
    return c;
  };

  const bundle = check('bundle');
  let files;
  try {
    files = openBundle(location);
  } catch (err) {
    fail(bundle, `cannot read the bundle: ${message(err)}`);
    return finish(report);
  }
  const present = ALL_FILES.filter((f) => files.has(f));
  for (const f of ALL_FILES) if (!present.includes(f)) fail(bundle, `${f} is missing`);
  bundle.detail = `${files.kind}: ${present.join(', ')}`;
  /**
   * @param {string} name
   * @returns {Promise<Buffer | null>}
   */
  const read = async (name) => (files.has(name) ? files.read(name) : null);

  const verifier = await checkKey(check('key'), await read('verifier-key.txt'), options.pinnedKey, report);
  const manifestBytes = await read('manifest.json');
  const manifest = checkManifest(check('manifest'), manifestBytes, report);
  checkManifestSignature(check('manifest.sig'), await read('manifest.sig'), manifestBytes, manifest, verifier);
  const checkpoint = checkCheckpoint(check('checkpoint'), await read('checkpoint.txt'), manifest, verifier, report);

  const events = check('events');
  const ends = files.has('events.ndjson') ? await checkEvents(events, files.stream('events.ndjson'), report) : null;
  if (!ends) fail(events, 'events.ndjson is missing');

  const proofs = check('proofs');
  if (!files.has('proofs.ndjson')) fail(proofs, 'proofs.ndjson is missing');
  else if (ends) await checkProofs(proofs, files.stream('proofs.ndjson'), ends, checkpoint);
  else fail(proofs, 'no events to check the proofs against');

  const count = check('count');
  if (!manifest) fail(count, 'no valid manifest.json to compare with');
  else if (manifest.count !== report.events) {
    fail(count, `manifest.json says count ${manifest.count}, events.ndjson holds ${report.events} events`);
  } else count.detail = `${report.events} events, as manifest.json says`;

  const hashes = check('files');
  if (!manifest) fail(hashes, 'no valid manifest.json to compare with');
  else {
    for (const [name, expected] of Object.entries(manifest.files)) {
      if (!files.has(name)) {
        fail(hashes, `${name} is listed in manifest.json but missing`);
        continue;
      }
      const actual = await sha256Of(files.stream(name));
      if (actual !== expected) fail(hashes, `${name}: SHA-256 ${actual}, manifest.json says ${expected}`);
    }
    hashes.detail = `${Object.keys(manifest.files).length} files match their SHA-256 in manifest.json`;
  }
  return finish(report);
}

/**
 * @param {Check} c
 * @param {Buffer | null} bytes
 * @param {string | undefined} pinned
 * @param {Report} report
 * @returns {Promise<Verifier | null>}
 */
async function checkKey(c, bytes, pinned, report) {
  let own = null;
  const text = bytes?.toString('utf8');
  if (text === undefined) fail(c, 'verifier-key.txt is missing');
  else if (!/^[^\n]+\n$/.test(text)) fail(c, 'verifier-key.txt is not one line ending in a newline');
  else {
    try {
      own = parseVerifierKey(text.slice(0, -1));
      report.verifierKey = own.verifierKey;
    } catch (err) {
      fail(c, `verifier-key.txt: ${message(err)}`);
    }
  }
  if (pinned === undefined) {
    c.detail = `${own?.verifierKey ?? '?'} (NOT pinned: the bundle's own key)`;
    report.warnings.push(
      "the key was not pinned: the signatures were checked with the bundle's own verifier-key.txt; " +
        'pass --key <verifier key> or --key-file <file> with the key the log publishes',
    );
    return own;
  }
  const key = parseVerifierKey(pinned);
  report.verifierKey = key.verifierKey;
  if (own && own.verifierKey !== key.verifierKey) {
    fail(c, `verifier-key.txt holds ${own.verifierKey}, not the pinned key ${key.verifierKey}`);
  }
  c.detail = `${key.verifierKey} (pinned)`;
  return key;
}

/**
 * @typedef {{ origin: string, count: number, checkpoint: { treeSize: number, rootHash: string },
 *   files: Record<string, string> }} Manifest
 * @param {Check} c
 * @param {Buffer | null} bytes
 * @param {Report} report
 * @returns {Manifest | null}
 */
function checkManifest(c, bytes, report) {
  if (!bytes) return fail(c, 'manifest.json is missing');
  /** @type {any} */
  let m;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return fail(c, 'manifest.json is not JSON');
  }
  const problem =
    typeof m !== 'object' || m === null || Array.isArray(m)
      ? 'is not an object'
      : m.type !== 'manifest'
        ? 'has no "type": "manifest"'
        : typeof m.origin !== 'string' || m.origin === ''
          ? 'has no origin'
          : !Number.isSafeInteger(m.count) || m.count < 0
            ? 'has no count'
            : !m.checkpoint || !Number.isSafeInteger(m.checkpoint.treeSize) || !fromBase64(m.checkpoint.rootHash)
              ? 'has no checkpoint {treeSize, rootHash (base64)}'
              : typeof m.files !== 'object' || m.files === null
                ? 'has no files'
                : HASHED_FILES.find((f) => !isHex64(m.files[f])) !== undefined
                  ? `has no SHA-256 for ${HASHED_FILES.find((f) => !isHex64(m.files[f]))}`
                  : Object.values(m.files).some((/** @type {unknown} */ h) => !isHex64(h))
                    ? 'lists a file without a lower-case hex SHA-256'
                    : Object.keys(m.files).some((f) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(f))
                      ? 'lists a file that is not a plain name at the top of the bundle'
                      : null;
  if (problem) return fail(c, `manifest.json ${problem}`);
  report.origin = m.origin;
  c.detail = `origin ${m.origin}, count ${m.count}, created ${m.createdAt ?? '?'}`;
  return m;
}

/**
 * @param {Check} c
 * @param {Buffer | null} sig
 * @param {Buffer | null} manifestBytes
 * @param {Manifest | null} manifest
 * @param {Verifier | null} verifier
 */
function checkManifestSignature(c, sig, manifestBytes, manifest, verifier) {
  if (!sig || !manifestBytes) return fail(c, `${sig ? 'manifest.json' : 'manifest.sig'} is missing`);
  if (!verifier) return fail(c, 'no verifier key to check manifest.sig with');
  let text;
  try {
    text = openNote(sig.toString('utf8'), verifier);
  } catch (err) {
    return fail(c, `manifest.sig: ${message(err)}`);
  }
  const digest = createHash('sha256').update(manifestBytes).digest('hex');
  const [statement, origin, hashLine, ...rest] = text.split('\n');
  if (statement !== MANIFEST_STATEMENT || rest.join('\n') !== '') {
    return fail(c, `manifest.sig does not sign a ${MANIFEST_STATEMENT} statement`);
  }
  if (hashLine !== `sha256 ${digest}`)
    return fail(c, `manifest.sig signs ${hashLine}, manifest.json is sha256 ${digest}`);
  if (manifest && origin !== manifest.origin)
    return fail(c, `manifest.sig names origin ${origin}, not ${manifest.origin}`);
  if (verifier.name !== origin) return fail(c, `the key's name ${verifier.name} is not the origin ${origin}`);
  c.detail = `signed by ${verifier.name}+${verifier.keyHash.toString('hex')}: manifest.json sha256 ${digest}`;
}

/**
 * @param {Check} c
 * @param {Buffer | null} bytes
 * @param {Manifest | null} manifest
 * @param {Verifier | null} verifier
 * @param {Report} report
 * @returns {{ size: number, rootHash: Buffer } | null}
 */
function checkCheckpoint(c, bytes, manifest, verifier, report) {
  if (!bytes) return fail(c, 'checkpoint.txt is missing');
  if (!verifier) return fail(c, 'no verifier key to check checkpoint.txt with');
  let cp;
  try {
    cp = parseCheckpoint(openNote(bytes.toString('utf8'), verifier));
  } catch (err) {
    return fail(c, `checkpoint.txt: ${message(err)}`);
  }
  report.treeSize = cp.size;
  report.rootHash = cp.rootHash.toString('base64');
  c.detail = `${cp.origin}, tree size ${cp.size}, root ${report.rootHash}, signed by ${verifier.name}`;
  if (cp.origin !== verifier.name) fail(c, `checkpoint.txt is of origin ${cp.origin}, the key is ${verifier.name}`);
  if (manifest && cp.origin !== manifest.origin) {
    fail(c, `checkpoint.txt is of origin ${cp.origin}, manifest.json of ${manifest.origin}`);
  }
  if (manifest && cp.size !== manifest.checkpoint.treeSize) {
    fail(c, `checkpoint.txt has tree size ${cp.size}, manifest.json ${manifest.checkpoint.treeSize}`);
  }
  if (manifest && report.rootHash !== manifest.checkpoint.rootHash) {
    fail(c, `checkpoint.txt has root ${report.rootHash}, manifest.json ${manifest.checkpoint.rootHash}`);
  }
  return cp;
}

/**
 * Streams events.ndjson: returns each stream's last event (in the order the streams appear).
 * @param {Check} c
 * @param {NodeJS.ReadableStream} input
 * @param {Report} report
 * @returns {Promise<Map<string, StreamEnd>>}
 */
async function checkEvents(c, input, report) {
  /** @type {Map<string, StreamEnd>} */
  const ends = new Map();
  let current = null;
  for await (const { line, number, complete } of lines(input)) {
    report.events++;
    const at = `events.ndjson line ${number}`;
    if (!complete) {
      fail(c, `${at}: truncated (the file does not end with a newline)`);
      continue;
    }
    const stored = parseStored(line);
    if (typeof stored === 'string') {
      fail(c, `${at}: ${stored}`);
      continue;
    }
    const where = `${at} (stream ${stored.streamId} version ${stored.version})`;
    const prev = ends.get(stored.streamId);
    if (stored.streamId !== current) {
      if (prev) fail(c, `${where}: the stream appears again after another stream (events are not grouped)`);
      else if (stored.version !== 1) fail(c, `${where}: the stream does not start at version 1`);
      else if (stored.prevHash !== GENESIS) fail(c, `${where}: version 1 does not link to the genesis hash`);
      current = stored.streamId;
    } else if (prev && stored.version !== prev.version + 1) {
      fail(c, `${where}: follows version ${prev.version} (versions must be contiguous and ascending)`);
    } else if (prev && stored.prevHash !== prev.hash) {
      fail(c, `${where}: prevHash does not link to version ${prev.version}`);
    }
    if (chainHash(stored) !== stored.hash) fail(c, `${where}: the content does not match its hash`);
    ends.set(stored.streamId, { version: stored.version, eventId: stored.eventId, hash: stored.hash, line: number });
  }
  report.streams = ends.size;
  c.detail =
    `${report.events} events in ${ends.size} streams: every chain hash recomputed from "stored", ` +
    'versions contiguous from 1, prevHash linked';
  return ends;
}

/**
 * @param {string | null} line
 * @returns {string | { streamId: string, version: number, eventId: string, type: string, data: unknown,
 *   metadata: unknown, occurredAt: string, prevHash: string, hash: string }}
 */
function parseStored(line) {
  if (line === null) return 'not UTF-8';
  /** @type {any} */
  let row;
  try {
    row = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  const s = row?.stored;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return 'no "stored" object';
  if (typeof s.streamId !== 'string' || s.streamId === '') return 'stored.streamId is not a string';
  if (!Number.isSafeInteger(s.version) || s.version < 1) return 'stored.version is not a positive integer';
  for (const f of ['eventId', 'type', 'occurredAt']) if (typeof s[f] !== 'string') return `stored.${f} is not a string`;
  for (const f of ['data', 'metadata']) if (s[f] === undefined) return `stored.${f} is missing`;
  for (const f of ['prevHash', 'hash']) if (!isHex64(s[f])) return `stored.${f} is not 64 lower-case hex digits`;
  return s;
}

/**
 * @param {Check} c
 * @param {NodeJS.ReadableStream} input
 * @param {Map<string, StreamEnd>} ends
 * @param {{ size: number, rootHash: Buffer } | null} checkpoint
 */
async function checkProofs(c, input, ends, checkpoint) {
  if (!checkpoint) fail(c, 'no verified checkpoint to check the proofs against');
  const proved = new Set();
  for await (const { line, number, complete } of lines(input)) {
    const at = `proofs.ndjson line ${number}`;
    if (!complete) {
      fail(c, `${at}: truncated (the file does not end with a newline)`);
      continue;
    }
    /** @type {any} */
    let p;
    try {
      p = JSON.parse(line ?? '');
    } catch {
      fail(c, `${at}: not JSON`);
      continue;
    }
    const end = typeof p?.streamId === 'string' ? ends.get(p.streamId) : undefined;
    const where = `${at} (stream ${p?.streamId} version ${p?.version})`;
    if (!end) {
      fail(c, `${where}: no such stream in events.ndjson`);
      continue;
    }
    if (proved.has(p.streamId)) fail(c, `${where}: a second proof for the stream`);
    proved.add(p.streamId);
    /** @type {(Buffer | null)[] | null} */
    const hashes = Array.isArray(p.hashes) ? p.hashes.map(fromBase64) : null;
    const leaf = leafHash(Buffer.from(end.hash, 'hex'));
    if (p.version !== end.version || p.eventId !== end.eventId) {
      fail(c, `${where}: not the stream's last exported event (version ${end.version}, ${end.eventId})`);
    } else if (fromBase64(p.leafHash)?.equals(leaf) !== true) {
      fail(c, `${where}: leafHash is not the leaf of that event's hash (events.ndjson line ${end.line})`);
    } else if (!hashes || hashes.some((h) => !h || h.length !== 32)) {
      fail(c, `${where}: hashes is not a list of base64 SHA-256 hashes`);
    } else if (checkpoint && p.treeSize !== checkpoint.size) {
      fail(c, `${where}: treeSize ${p.treeSize} is not the checkpoint's size ${checkpoint.size}`);
    } else if (
      checkpoint &&
      !verifyInclusion(p.leafIndex, checkpoint.size, leaf, /** @type {Buffer[]} */ (hashes), checkpoint.rootHash)
    ) {
      fail(c, `${where}: the inclusion proof of leaf ${p.leafIndex} does not lead to the checkpoint's root`);
    }
  }
  for (const [streamId, end] of ends) {
    if (!proved.has(streamId))
      fail(c, `stream ${streamId}: no inclusion proof of its last event (version ${end.version})`);
  }
  c.detail = `${proved.size} streams: the last event of each is a leaf of the signed tree of size ${checkpoint?.size}`;
}

/** @param {NodeJS.ReadableStream} input */
async function sha256Of(input) {
  const h = createHash('sha256');
  for await (const chunk of input) h.update(/** @type {Buffer} */ (chunk));
  return h.digest('hex');
}

/**
 * Records a failure (the first one of a check is its message) and answers null.
 * @param {Check} c
 * @param {string} why
 * @returns {null}
 */
function fail(c, why) {
  if (c.ok) c.failure = why;
  c.ok = false;
  c.problems++;
  return null;
}

/** @param {Report} report */
function finish(report) {
  const failed = report.checks.find((c) => !c.ok);
  report.verified = !failed;
  report.failure = failed?.failure ?? null;
  return report;
}

/** @param {unknown} err */
const message = (err) => (err instanceof Error ? err.message : String(err));

module.exports = { verifyBundle, ALL_FILES, MANIFEST_STATEMENT };
