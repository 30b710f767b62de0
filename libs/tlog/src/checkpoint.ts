import { decodeBase64Strict } from './base64';
import { NoteError } from './errors';
import { HASH_SIZE } from './merkle';
import { NoteSigner, NoteVerifier } from './keys';
import { NoteSignature, openNote, signNote } from './note';

// C2SP tlog-checkpoint: "<origin>\n<tree size>\n<base64 root hash>\n" and optional extension lines.

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
}

export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin.length === 0 || /[\p{Cc}]/u.test(c.origin)) {
    throw new NoteError('a checkpoint origin is a non-empty line');
  }
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new NoteError('a tree size is an integer from 0');
  if (c.rootHash.length !== HASH_SIZE) throw new NoteError('a root hash is 32 bytes');
  return `${c.origin}\n${c.size}\n${Buffer.from(c.rootHash).toString('base64')}\n`;
}

export function parseCheckpoint(body: string): Checkpoint & { extensions: string[] } {
  if (!body.endsWith('\n')) throw new NoteError('a checkpoint ends with a newline');
  const [origin, size, root, ...extensions] = body.slice(0, -1).split('\n');
  if (extensions.some((e) => e.length === 0) || size === undefined || root === undefined || origin.length === 0) {
    throw new NoteError('a checkpoint is an origin, a tree size, a root hash and non-empty extension lines');
  }
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new NoteError('a checkpoint tree size is a decimal number without leading zeroes');
  }
  const rootHash = decodeBase64Strict(root);
  if (!rootHash || rootHash.length !== HASH_SIZE) throw new NoteError('a checkpoint root hash is 32 bytes of base64');
  return { origin, size: Number(size), rootHash, extensions };
}

export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), [signer]);
}

/**
 * Opens a signed checkpoint: the note's signatures (see openNote), then its body. When `origin` is given
 * the checkpoint must carry it and be signed by a verified key of that name.
 */
export function openCheckpoint(
  note: string,
  verifiers: readonly NoteVerifier[],
  origin?: string,
): Checkpoint & { extensions: string[]; signatures: NoteSignature[]; text: string } {
  const { text, signatures } = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(text);
  if (origin !== undefined) {
    if (checkpoint.origin !== origin) throw new NoteError(`the checkpoint is of ${checkpoint.origin}, not ${origin}`);
    if (!signatures.some((s) => s.verified && s.name === origin)) {
      throw new NoteError(`the checkpoint is not signed by a key of ${origin}`);
    }
  }
  return { ...checkpoint, signatures, text };
}
