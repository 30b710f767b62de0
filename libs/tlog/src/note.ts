import { decodeBase64Strict } from './base64';
import { NoteError } from './errors';
import { assertKeyName, NoteSigner, NoteVerifier } from './keys';

// C2SP signed-note: text ending in a newline, a blank line, then one line per signature:
// "— <key name> <base64(4-byte key ID ‖ signature)>\n".
const SIGNATURE_PREFIX = '\u2014 ';
/** Notes with more signature lines are refused (the spec asks for at least 16 to be accepted). */
export const MAX_NOTE_SIGNATURES = 100;
const FORBIDDEN = /[\u0000-\u0009\u000b-\u001f]/; // control characters other than the newline
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface NoteSignature {
  name: string;
  keyHash: Buffer;
  /** True when a given verifier has this name and key ID and the signature checks. */
  verified: boolean;
}

export function signNote(text: string, signers: readonly NoteSigner[]): string {
  assertText(text);
  if (signers.length === 0) throw new NoteError('a note needs at least one signer');
  const msg = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    assertKeyName(s.name);
    if (s.keyHash.length !== 4) throw new NoteError('a key ID is 4 bytes');
    const sig = Buffer.concat([s.keyHash, s.sign(msg)]).toString('base64');
    return `${SIGNATURE_PREFIX}${s.name} ${sig}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Splits a signed note and checks its signatures against the given verifiers. Signatures of unknown keys
 * are listed unverified; throws NoteError when the note is malformed, when a known key's signature does
 * not check, or when no known key signed it.
 */
export function openNote(
  note: string,
  verifiers: readonly NoteVerifier[],
): { text: string; signatures: NoteSignature[] } {
  if (FORBIDDEN.test(note)) throw new NoteError('a note holds no control characters but newlines');
  if (LONE_SURROGATE.test(note)) throw new NoteError('a note is valid Unicode');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('a note is its text, a blank line and its signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw new NoteError('a note ends with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw new NoteError(`a note has at most ${MAX_NOTE_SIGNATURES} signatures`);
  const msg = Buffer.from(text, 'utf8');
  const signatures = lines.map((line) => {
    const { name, keyHash, sig } = parseSignatureLine(line);
    const known = verifiers.filter((v) => v.name === name && v.keyHash.equals(keyHash));
    if (known.length > 1) throw new NoteError(`more than one verifier for ${name}+${keyHash.toString('hex')}`);
    if (known.length === 0) return { name, keyHash, verified: false };
    if (!known[0].verify(msg, sig)) throw new NoteError(`the signature of ${name} does not verify`);
    return { name, keyHash, verified: true };
  });
  if (!signatures.some((s) => s.verified)) throw new NoteError('no signature of a known key');
  return { text, signatures };
}

function parseSignatureLine(line: string): { name: string; keyHash: Buffer; sig: Buffer } {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteError('a signature line starts with an em dash and a space');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = rest.slice(0, space);
  const bytes = space < 0 ? null : decodeBase64Strict(rest.slice(space + 1));
  if (space <= 0 || !bytes || bytes.length < 5) throw new NoteError('a signature line is "— <name> <base64>"');
  assertKeyName(name);
  return { name, keyHash: Buffer.from(bytes.subarray(0, 4)), sig: Buffer.from(bytes.subarray(4)) };
}

function assertText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteError('a note text ends with a newline');
  if (FORBIDDEN.test(text)) throw new NoteError('a note text holds no control characters but newlines');
  if (LONE_SURROGATE.test(text)) throw new NoteError('a note text is valid Unicode');
}
