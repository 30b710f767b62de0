// A small ustar reader for the signed audit bundle (libs/audit/src/bundle-tar.ts writes it): 512-byte
// blocks, a header per entry (checksum checked), pax 'x' headers for sizes and names beyond ustar's,
// two zero blocks at the end. Regular files only are returned; other entries are stepped over.
import { sha256, toHex } from '../verify/bytes';

const BLOCK = 512;

export class TarError extends Error {}

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

const latin = new TextDecoder('latin1');
const utf8 = new TextDecoder();

function field(header: Uint8Array, start: number, length: number): Uint8Array {
  const bytes = header.subarray(start, start + length);
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

function octal(header: Uint8Array, start: number, length: number, what: string): number {
  const text = latin.decode(field(header, start, length)).trim();
  if (!/^[0-7]+$/.test(text)) throw new TarError(`the ${what} field of a header is not octal`);
  return parseInt(text, 8);
}

/** pax records `<length> <key>=<value>\n`. */
function paxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? NaN : Number(latin.decode(data.subarray(at, space)));
    if (!Number.isInteger(length) || length <= 0 || at + length > data.length) {
      throw new TarError('a pax header record is malformed');
    }
    const record = utf8.decode(data.subarray(space + 1, at + length - 1));
    const eq = record.indexOf('=');
    if (eq === -1) throw new TarError('a pax header record has no "="');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

export function readTar(bytes: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let pax = new Map<string, string>();
  for (;;) {
    if (at + BLOCK > bytes.length) throw new TarError('the archive ends without its two zero blocks');
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return entries;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (octal(header, 148, 8, 'checksum') !== sum) throw new TarError(`the header at byte ${at} fails its checksum`);
    const ustar = latin.decode(header.subarray(257, 263)) === 'ustar\0';
    const prefix = ustar ? utf8.decode(field(header, 345, 155)) : '';
    const plain = utf8.decode(field(header, 0, 100));
    const name = pax.get('path') ?? (prefix ? `${prefix}/${plain}` : plain);
    const paxSize = pax.get('size');
    const size = paxSize !== undefined ? Number(paxSize) : octal(header, 124, 12, 'size');
    if (!Number.isSafeInteger(size) || size < 0) throw new TarError(`the size of ${name} is not a byte count`);
    const start = at + BLOCK;
    if (start + size > bytes.length) throw new TarError(`the archive ends inside ${name}`);
    const data = bytes.subarray(start, start + size);
    const type = String.fromCharCode(header[156]!);
    pax = new Map();
    if (type === 'x') pax = paxRecords(data);
    else if (type === '0' || type === '\0') entries.push({ name, data });
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
}

/** The bundle's manifest against the files beside it. */
export interface BundleCheck {
  /** What manifest.json names as events.ndjson's SHA-256 (null when it names none). */
  manifestSha256: string | null;
  /** events.ndjson's SHA-256, computed here (null when the archive has no events.ndjson). */
  computedSha256: string | null;
  /** Every file the manifest lists: its SHA-256 there and here. */
  files: { name: string; manifest: string; computed: string | null }[];
  /** Lines of events.ndjson. */
  records: number;
  match: boolean;
}

export async function checkBundle(bytes: Uint8Array): Promise<BundleCheck> {
  const entries = readTar(bytes);
  const byName = new Map(entries.map((e) => [e.name, e.data]));
  const manifestBytes = byName.get('manifest.json');
  if (!manifestBytes) throw new TarError('the archive has no manifest.json');
  let listed: Record<string, unknown>;
  try {
    const manifest = JSON.parse(utf8.decode(manifestBytes)) as { files?: unknown };
    if (!manifest.files || typeof manifest.files !== 'object') throw new Error();
    listed = manifest.files as Record<string, unknown>;
  } catch {
    throw new TarError('manifest.json does not list its files’ SHA-256');
  }
  const files: BundleCheck['files'] = [];
  for (const [name, hash] of Object.entries(listed)) {
    const data = byName.get(name);
    files.push({ name, manifest: String(hash), computed: data ? toHex(await sha256(data)) : null });
  }
  const events = byName.get('events.ndjson');
  let records = 0;
  if (events) for (const b of events) if (b === 0x0a) records++;
  const named = files.find((f) => f.name === 'events.ndjson');
  return {
    manifestSha256: named?.manifest ?? null,
    computedSha256: events ? toHex(await sha256(events)) : null,
    files,
    records,
    match: files.length > 0 && named !== undefined && files.every((f) => f.computed === f.manifest),
  };
}
