import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { withCanonicalJson } from '@app/event-store';
import { type ContentEnvelope, ENVELOPE_ALGORITHM, KEY_ID } from './content-envelope';

/** A conversation's data key: 32 bytes, known by its id. */
export interface DataKey {
  kid: string;
  key: Buffer;
}

/** An envelope that does not open: tampered, moved to another event or field, or the wrong key. */
export class ContentUnreadable extends Error {
  constructor(
    readonly eventId: string,
    readonly field: string,
    cause?: unknown,
  ) {
    super(`the ${field} of event ${eventId} does not decrypt under its key (tampered, moved or wrong key)`, { cause });
  }
}

/** Associated data: the field is bound to its event and its name. */
const aadOf = (eventId: string, field: string): Buffer => Buffer.from(`${eventId.toLowerCase()}\n${field}`, 'utf8');

const TAG_BYTES = 16;
const NONCE_BYTES = 12;

/**
 * Nonces: 96 random bits each, taken from a pool filled 1,024 at a time (one call into the
 * random source per 1,024 fields instead of one each: it cost 5 µs a call, most of a seal).
 */
let noncePool = Buffer.alloc(0);
let nonceAt = 0;
function nonce(): Buffer {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * 1024);
    nonceAt = 0;
  }
  const iv = noncePool.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return iv;
}

/** The data key as a KeyObject, made once per key (a raw key is re-imported by every cipher). */
const secrets = new WeakMap<Buffer, KeyObject>();
function secretOf(key: DataKey): KeyObject {
  let secret = secrets.get(key.key);
  if (!secret) secrets.set(key.key, (secret = createSecretKey(key.key)));
  return secret;
}

/** `ct` is the ciphertext followed by the 16-byte GCM tag. */
export function sealText(key: DataKey, eventId: string, field: string, text: string): Readonly<ContentEnvelope> {
  const iv = nonce();
  const cipher = createCipheriv('aes-256-gcm', secretOf(key), iv);
  cipher.setAAD(aadOf(eventId, field));
  const ct = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64');
  const nonceText = iv.toString('base64');
  const envelope: ContentEnvelope = { enc: ENVELOPE_ALGORITHM, kid: key.kid, iv: nonceText, ct };
  // Its canonical JSON (keys sorted), written here so the append does not walk it: base64 and a
  // key id (a lower-case UUID, as every key is made) need no escaping. Any other id is walked.
  if (!KEY_ID.test(key.kid)) return envelope;
  return withCanonicalJson(
    envelope,
    `{"ct":"${ct}","enc":"${ENVELOPE_ALGORITHM}","iv":"${nonceText}","kid":"${key.kid}"}`,
  );
}

export function openText(key: DataKey, eventId: string, field: string, envelope: ContentEnvelope): string {
  if (envelope.kid !== key.kid) {
    throw new ContentUnreadable(eventId, field, new Error(`key ${key.kid} is not ${envelope.kid}`));
  }
  try {
    const iv = Buffer.from(envelope.iv, 'base64');
    const sealed = Buffer.from(envelope.ct, 'base64');
    if (iv.length !== NONCE_BYTES || sealed.length < TAG_BYTES) throw new Error('nonce or ciphertext too short');
    const decipher = createDecipheriv('aes-256-gcm', secretOf(key), iv);
    decipher.setAAD(aadOf(eventId, field));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch (err) {
    throw new ContentUnreadable(eventId, field, err);
  }
}
