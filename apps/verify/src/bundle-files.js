// @ts-check
'use strict';
// A bundle is a directory of files, or the same files at the top level of a ustar archive. Either way the
// verifier reads each file as a stream of bytes (a bundle may be larger than memory).
const fs = require('node:fs');
const path = require('node:path');
const { Readable } = require('node:stream');
const { TextDecoder } = require('node:util');

/**
 * @typedef {{ kind: 'directory' | 'tar', has(name: string): boolean,
 *   stream(name: string): NodeJS.ReadableStream, read(name: string): Promise<Buffer> }} BundleFiles
 */

/**
 * @param {string} location a directory or a .tar file
 * @returns {BundleFiles}
 */
function openBundle(location) {
  const stat = fs.statSync(location);
  if (stat.isDirectory()) return directory(location);
  if (stat.isFile()) return tarArchive(location, stat.size);
  throw new Error(`${location} is neither a directory nor a tar file`);
}

/**
 * @param {string} dir
 * @returns {BundleFiles}
 */
function directory(dir) {
  /** @param {string} name */
  const file = (name) => path.join(dir, name);
  return {
    kind: 'directory',
    has: (name) => fs.statSync(file(name), { throwIfNoEntry: false })?.isFile() ?? false,
    stream: (name) => fs.createReadStream(file(name)),
    read: (name) => fs.promises.readFile(file(name)),
  };
}

/**
 * Reads the archive's headers only (each file's offset and size), then streams each file from its place.
 * @param {string} archive
 * @param {number} archiveSize
 * @returns {BundleFiles}
 */
function tarArchive(archive, archiveSize) {
  /** @type {Map<string, { offset: number, size: number }>} */
  const entries = new Map();
  const fd = fs.openSync(archive, 'r');
  try {
    const header = Buffer.alloc(512);
    let offset = 0;
    /** @type {Record<string, string>} */
    let pax = {};
    for (;;) {
      if (offset + 512 > archiveSize) throw new Error('the tar archive is truncated (no end-of-archive blocks)');
      fs.readSync(fd, header, 0, 512, offset);
      if (header.every((b) => b === 0)) break;
      if (!checksumMatches(header)) throw new Error(`the tar header at byte ${offset} is damaged (checksum)`);
      const type = String.fromCharCode(header[156] || 0x30);
      let name = pax.path ?? joinName(field(header, 345, 155), field(header, 0, 100));
      const size = pax.size !== undefined ? Number(pax.size) : parseInt(field(header, 124, 12).trim() || '0', 8);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`the tar entry ${name} has no valid size`);
      const data = offset + 512;
      if (data + size > archiveSize) throw new Error(`the tar archive is truncated inside ${name}`);
      pax = {};
      if (type === 'x') {
        const buf = Buffer.alloc(size);
        fs.readSync(fd, buf, 0, size, data);
        pax = parsePax(buf.toString('utf8'));
      } else if (type === '0' || type === '7') {
        name = name.replace(/^\.\//, '');
        if (entries.has(name)) throw new Error(`the tar archive holds ${name} twice`);
        entries.set(name, { offset: data, size });
      }
      offset = data + Math.ceil(size / 512) * 512;
    }
  } finally {
    fs.closeSync(fd);
  }
  /** @param {string} name */
  const entry = (name) => {
    const e = entries.get(name);
    if (!e) throw new Error(`${name} is not in the archive`);
    return e;
  };
  /** @param {string} name */
  const stream = (name) => {
    const { offset, size } = entry(name);
    // createReadStream's end is inclusive; an empty file is an empty stream.
    if (size === 0) return Readable.from([]);
    return fs.createReadStream(archive, { start: offset, end: offset + size - 1 });
  };
  return {
    kind: 'tar',
    has: (name) => entries.has(name),
    stream,
    read: async (name) => {
      /** @type {Buffer[]} */
      const chunks = [];
      for await (const chunk of stream(name)) chunks.push(/** @type {Buffer} */ (chunk));
      return Buffer.concat(chunks);
    },
  };
}

/** @param {Buffer} header */
function checksumMatches(header) {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return parseInt(field(header, 148, 8).trim(), 8) === sum;
}

/**
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} length
 */
function field(buf, start, length) {
  const raw = buf.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
}

/**
 * @param {string} prefix
 * @param {string} name
 */
const joinName = (prefix, name) => (prefix ? `${prefix}/${name}` : name);

/**
 * "<length> <key>=<value>\n" records.
 * @param {string} text
 */
function parsePax(text) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const record of text.split('\n')) {
    const m = /^\d+ ([^=]+)=(.*)$/s.exec(record);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/**
 * The file's lines split at "\n" only, decoded as strict UTF-8 (`line` null when a line is not UTF-8);
 * `complete` is false for a last line without its newline (a truncated file).
 * @param {NodeJS.ReadableStream} input
 * @returns {AsyncGenerator<{ line: string | null, number: number, complete: boolean }>}
 */
async function* lines(input) {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  /** @type {Buffer[]} */
  let pending = [];
  let number = 0;
  for await (const chunk of input) {
    let buf = /** @type {Buffer} */ (chunk);
    let nl;
    while ((nl = buf.indexOf(0x0a)) >= 0) {
      const bytes = Buffer.concat([...pending, buf.subarray(0, nl)]);
      pending = [];
      buf = buf.subarray(nl + 1);
      yield { line: decode(decoder, bytes), number: ++number, complete: true };
    }
    if (buf.length > 0) pending.push(buf);
  }
  if (pending.length > 0) yield { line: decode(decoder, Buffer.concat(pending)), number: ++number, complete: false };
}

/**
 * @param {TextDecoder} decoder
 * @param {Buffer} bytes
 */
function decode(decoder, bytes) {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

module.exports = { openBundle, lines };
