/**
 * A free-text field as stored when content is encrypted: this object in place of the string.
 * AES-256-GCM under the conversation's data key `kid`, a fresh 96-bit nonce per field, the
 * event id and the field's name as associated data (an envelope moved to another event or
 * field does not open). Every byte string is base64 (RFC 4648, with padding).
 */
export interface ContentEnvelope {
  enc: 'A256GCM';
  /** The data key (content_keys.key_id, lower-case UUID). */
  kid: string;
  /** The 12-byte nonce. */
  iv: string;
  /** The ciphertext, then the 16-byte authentication tag. */
  ct: string;
}

export const ENVELOPE_ALGORITHM = 'A256GCM';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** A key id as keys are made and as an envelope names one: a lower-case UUID. */
export const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a stored field's value is an envelope (else it is plaintext from before encryption). */
export function isEnvelope(value: unknown): value is ContentEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    v.enc === ENVELOPE_ALGORITHM &&
    typeof v.kid === 'string' &&
    KEY_ID.test(v.kid) &&
    [v.iv, v.ct].every((s) => typeof s === 'string' && BASE64.test(s))
  );
}
