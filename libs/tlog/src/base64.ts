const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (RFC 4648 section 4) decoded strictly: null unless `s` is exactly the encoding of its bytes. */
export function decodeBase64Strict(s: string): Buffer | null {
  if (!BASE64.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : null;
}
