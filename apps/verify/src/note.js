// @ts-check
'use strict';
// C2SP signed-note (Ed25519 verifier keys and notes) and tlog-checkpoint bodies.
const { createHash, createPublicKey, verify } = require('node:crypto');
const { fromBase64 } = require('./encoding');

class FormatError extends Error {}

/**
 * @typedef {{ name: string, keyHash: Buffer, publicKey: Buffer, verifierKey: string,
 *   verify(msg: Buffer, sig: Buffer): boolean }} Verifier
 */

/**
 * Parses `<name>+<8 hex key ID>+<base64(0x01 ‖ 32-byte Ed25519 public key)>` and checks the key ID.
 * @param {string} vkey
 * @returns {Verifier}
 */
function parseVerifierKey(vkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/u.exec(vkey);
  if (!m) throw new FormatError('a verifier key is <name>+<8 hex digits>+<base64 key>');
  const [, name, id, encoded] = m;
  const material = fromBase64(encoded);
  if (!material || material.length !== 33 || material[0] !== 0x01) {
    throw new FormatError('the verifier key is not an Ed25519 key (0x01 and 32 bytes)');
  }
  const publicKey = material.subarray(1);
  const keyHash = createHash('sha256').update(`${name}\n`, 'utf8').update(material).digest().subarray(0, 4);
  if (keyHash.toString('hex') !== id) throw new FormatError('the verifier key ID does not match its name and key');
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') },
    format: 'jwk',
  });
  return {
    name,
    keyHash,
    publicKey,
    verifierKey: vkey,
    verify: (msg, sig) => sig.length === 64 && verify(null, msg, key, sig),
  };
}

/**
 * Opens a signed note with one trusted key: returns its text when a signature of that key verifies.
 * Signatures of other keys are ignored (C2SP: unknown keys are skipped); a failing one of the key is fatal.
 * @param {string} note
 * @param {Verifier} verifier
 * @returns {string}
 */
function openNote(note, verifier) {
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new FormatError('a note holds no control characters');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new FormatError('a note is a text, a blank line, signature lines');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  let verified = false;
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const bytes = m && fromBase64(m[2]);
    if (!m || !bytes || bytes.length < 5) throw new FormatError(`not a signature line: ${JSON.stringify(line)}`);
    if (m[1] !== verifier.name || !bytes.subarray(0, 4).equals(verifier.keyHash)) continue;
    if (!verifier.verify(Buffer.from(text, 'utf8'), bytes.subarray(4))) {
      throw new FormatError(`the signature of ${verifier.name} does not verify`);
    }
    verified = true;
  }
  if (!verified) throw new FormatError(`no signature of ${verifier.name}+${verifier.keyHash.toString('hex')}`);
  return text;
}

/**
 * @param {string} text
 * @returns {{ origin: string, size: number, rootHash: Buffer }}
 */
function parseCheckpoint(text) {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.pop() !== '' || lines.slice(3).some((l) => l === '')) {
    throw new FormatError('a checkpoint is an origin, a size, a root hash (and extension lines), each ending in \\n');
  }
  const [origin, size, root] = lines;
  const rootHash = fromBase64(root);
  if (origin === '') throw new FormatError('the checkpoint has no origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new FormatError('the checkpoint size is not a decimal number');
  }
  if (!rootHash || rootHash.length !== 32) throw new FormatError('the checkpoint root is not 32 bytes of base64');
  return { origin, size: Number(size), rootHash };
}

module.exports = { FormatError, parseVerifierKey, openNote, parseCheckpoint };
