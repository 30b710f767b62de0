import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { decodeBase64Strict } from './base64';
import { NoteError } from './errors';

// C2SP signed-note keys, Ed25519 only (signature type 0x01).
const ED25519 = 0x01;
const PUBLIC_KEY_SIZE = 32;
const SIGNATURE_SIZE = 64;

export interface NoteSigner {
  name: string;
  /** The 4-byte key ID: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. */
  keyHash: Buffer;
  /** `<name>+<8 hex key ID>+<base64(0x01 ‖ public key)>`. */
  verifierKey: string;
  /** The raw 64-byte Ed25519 signature of msg (the note adds the key ID in front). */
  sign(msg: Buffer): Buffer;
}

export interface NoteVerifier {
  name: string;
  keyHash: Buffer;
  verify(msg: Buffer, sig: Buffer): boolean;
}

/** A new Ed25519 private key, PKCS#8 PEM. */
export function generateSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function signerFromPem(name: string, pkcs8Pem: string): NoteSigner {
  assertKeyName(name);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pkcs8Pem, format: 'pem' });
  } catch {
    throw new NoteError('the signing key is not a PKCS#8 PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new NoteError('the signing key is not an Ed25519 key');
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return {
    name,
    keyHash: keyHashOf(name, publicKey),
    verifierKey: verifierKeyOf(name, publicKey),
    sign: (msg) => sign(null, msg, privateKey),
  };
}

export function verifierKeyOf(name: string, publicKey32: Uint8Array): string {
  assertKeyName(name);
  if (publicKey32.length !== PUBLIC_KEY_SIZE) throw new NoteError('an Ed25519 public key is 32 bytes');
  const material = Buffer.concat([Buffer.from([ED25519]), publicKey32]).toString('base64');
  return `${name}+${keyHashOf(name, publicKey32).toString('hex')}+${material}`;
}

export function parseVerifierKey(vkey: string): NoteVerifier & { publicKey: Buffer; verifierKey: string } {
  // The base64 key material may itself hold '+': split at the first two only.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw new NoteError('a verifier key is <name>+<key id>+<key>');
  const name = vkey.slice(0, first);
  const id = vkey.slice(first + 1, second);
  const material = decodeBase64Strict(vkey.slice(second + 1));
  assertKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(id)) throw new NoteError('a verifier key id is 8 lower-case hex digits');
  if (!material || material.length !== 1 + PUBLIC_KEY_SIZE || material[0] !== ED25519) {
    throw new NoteError('the verifier key is not an Ed25519 key (0x01 and 32 bytes, base64)');
  }
  const publicKey = Buffer.from(material.subarray(1));
  const keyHash = keyHashOf(name, publicKey);
  if (keyHash.toString('hex') !== id) throw new NoteError('the verifier key id does not match its name and key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });
  } catch {
    throw new NoteError('the verifier key is not a valid Ed25519 public key');
  }
  return {
    name,
    keyHash,
    publicKey,
    verifierKey: vkey,
    verify: (msg, sig) => sig.length === SIGNATURE_SIZE && verify(null, msg, key, sig),
  };
}

export function keyHashOf(name: string, publicKey32: Uint8Array): Buffer {
  return createHash('sha256')
    .update(Buffer.from(`${name}\n`, 'utf8'))
    .update(Buffer.from([ED25519]))
    .update(publicKey32)
    .digest()
    .subarray(0, 4);
}

/** Key names are non-empty, without Unicode spaces, '+' or control characters (C2SP signed-note). */
export function assertKeyName(name: string): void {
  if (name.length === 0 || /[\s+\p{Cc}]/u.test(name)) {
    throw new NoteError(`a key name is not empty and holds no spaces or '+': ${JSON.stringify(name)}`);
  }
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}
