// C2SP signed notes (Ed25519 verifier keys) and tlog checkpoints, checked with WebCrypto.
import { concat, equal, fromBase64, sha256, toHex } from './bytes';

export class NoteError extends Error {}

export interface Verifier {
  name: string;
  keyId: Uint8Array;
  verifierKey: string;
  verify(message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

const utf8 = new TextEncoder();

/** `<name>+<8 hex key ID>+<base64(0x01 ‖ 32-byte Ed25519 public key)>`, its key ID checked. */
export async function parseVerifierKey(verifierKey: string): Promise<Verifier> {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/u.exec(verifierKey.trim());
  if (!m) throw new NoteError('a verifier key is <name>+<8 hex digits>+<base64 key>');
  const [, name, id, encoded] = m;
  const material = fromBase64(encoded);
  if (!material || material.length !== 33 || material[0] !== 0x01) {
    throw new NoteError('the verifier key is not an Ed25519 key (0x01 and 32 bytes)');
  }
  const keyId = (await sha256(concat(utf8.encode(`${name}\n`), material))).subarray(0, 4);
  if (toHex(keyId) !== id) throw new NoteError('the verifier key ID does not match its name and key');
  const key = await crypto.subtle.importKey('raw', concat(material.subarray(1)), { name: 'Ed25519' }, false, [
    'verify',
  ]);
  return {
    name,
    keyId,
    verifierKey: m[0],
    verify: async (message, signature) =>
      signature.length === 64 && crypto.subtle.verify({ name: 'Ed25519' }, key, concat(signature), concat(message)),
  };
}

/** The note's text when a signature of `verifier` on it verifies (signatures of other keys are skipped). */
export async function openNote(note: string, verifier: Verifier): Promise<string> {
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new NoteError('a note holds no control characters');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new NoteError('a note is a text, a blank line, signature lines');
  const text = note.slice(0, split + 1);
  let verified = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const bytes = m && fromBase64(m[2]);
    if (!m || !bytes || bytes.length < 5) throw new NoteError(`not a signature line: ${JSON.stringify(line)}`);
    if (m[1] !== verifier.name || !equal(bytes.subarray(0, 4), verifier.keyId)) continue;
    if (!(await verifier.verify(utf8.encode(text), bytes.subarray(4)))) {
      throw new NoteError(`the signature of ${verifier.name} does not verify`);
    }
    verified = true;
  }
  if (!verified) throw new NoteError(`no signature of ${verifier.name}+${toHex(verifier.keyId)}`);
  return text;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
}

export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.pop() !== '' || lines.slice(3).some((l) => l === '')) {
    throw new NoteError('a checkpoint is an origin, a size, a root hash (and extension lines)');
  }
  const [origin, size, root] = lines;
  const rootHash = fromBase64(root);
  if (origin === '') throw new NoteError('the checkpoint has no origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new NoteError('the checkpoint size is not a decimal number');
  }
  if (!rootHash || rootHash.length !== 32) throw new NoteError('the checkpoint root is not 32 bytes of base64');
  return { origin, size: Number(size), rootHash };
}

/** The name a verifier key is for (`<name>+…`). */
export const keyName = (verifierKey: string) => verifierKey.trim().split('+')[0];
