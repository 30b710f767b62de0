import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type ContentEnvelope, ENVELOPE_ALGORITHM } from './content-envelope';

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

export function sealText(key: DataKey, eventId: string, field: string, text: string): ContentEnvelope {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(aadOf(eventId, field));
  const ct = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return {
    enc: ENVELOPE_ALGORITHM,
    kid: key.kid,
    iv: iv.toString('base64'),
    ct: ct.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

export function openText(key: DataKey, eventId: string, field: string, envelope: ContentEnvelope): string {
  if (envelope.kid !== key.kid)
    throw new ContentUnreadable(eventId, field, new Error(`key ${key.kid} is not ${envelope.kid}`));
  try {
    const iv = Buffer.from(envelope.iv, 'base64');
    const tag = Buffer.from(envelope.tag, 'base64');
    if (iv.length !== 12 || tag.length !== 16) throw new Error('nonce or tag of the wrong length');
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv);
    decipher.setAAD(aadOf(eventId, field));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new ContentUnreadable(eventId, field, err);
  }
}
