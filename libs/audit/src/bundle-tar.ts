import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

const BLOCK = 512;
/** The largest size the ustar header's 11 octal digits hold (8 GiB - 1); beyond it a pax header says it. */
const USTAR_MAX_SIZE = 0o77777777777;

/** `value` as `width - 1` zero-padded octal digits and a NUL, as ustar numeric fields are written. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/**
 * One 512-byte ustar header of a regular file (`typeflag` '0') or a pax extended header ('x'):
 * name, mode 0644, owner 0, size, mtime, the checksum over the header with its own field as
 * spaces, magic `ustar\0` version `00`.
 */
export function ustarHeader(name: string, size: number, mtimeSeconds: number, typeflag: '0' | 'x' = '0'): Buffer {
  if (Buffer.byteLength(name, 'utf8') > 100 || name === '' || name.includes('/'))
    throw new Error(`tar entry name "${name}" must be a plain name of at most 100 bytes`);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size > USTAR_MAX_SIZE ? 0 : size, 12), 124, 'ascii');
  header.write(octal(Math.max(0, Math.floor(mtimeSeconds)), 12), 136, 'ascii');
  header.write(' '.repeat(8), 148, 'ascii');
  header.write(typeflag, 156, 'ascii');
  header.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** A pax record `<length> <key>=<value>\n`, its length counting its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body, 'utf8');
  while (String(length).length + Buffer.byteLength(body, 'utf8') !== length) {
    length = String(length).length + Buffer.byteLength(body, 'utf8');
  }
  return `${length}${body}`;
}

/** Zero bytes that fill the last block of an entry of `size` bytes. */
export const tarPadding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** The header block(s) of a regular file: a pax header first when its size is beyond ustar's. */
export function fileHeaders(name: string, size: number, mtimeSeconds: number): Buffer[] {
  if (size <= USTAR_MAX_SIZE) return [ustarHeader(name, size, mtimeSeconds)];
  const pax = Buffer.from(paxRecord('size', String(size)), 'utf8');
  const paxName = `PaxHeader.${name}`.slice(0, 100);
  return [ustarHeader(paxName, pax.length, mtimeSeconds, 'x'), pax, tarPadding(pax.length), ustarHeader(name, size, 0)];
}

/**
 * The files of `dir` named in `names` as one ustar archive, at its top level, in that order;
 * read from disk as the consumer pulls (bounded memory whatever their size). Each file's size is
 * taken when its entry starts: the files must not change while the archive is read.
 */
export function tarOfFiles(dir: string, names: readonly string[], mtimeSeconds: number): Readable {
  async function* blocks(): AsyncGenerator<Buffer> {
    for (const name of names) {
      const file = join(dir, name);
      const size = statSync(file).size;
      for (const header of fileHeaders(name, size, mtimeSeconds)) yield header;
      let read = 0;
      if (size > 0) {
        for await (const chunk of createReadStream(file, { start: 0, end: size - 1 })) {
          read += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      }
      if (read !== size) throw new Error(`${name} changed while it was archived (${read} of ${size} bytes)`);
      yield tarPadding(size);
    }
    // The end of the archive: two zero blocks.
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(blocks(), { objectMode: false, highWaterMark: 64 * 1024 });
}
