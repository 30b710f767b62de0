// @ts-check
'use strict';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Standard base64 decoded strictly: null unless `s` is exactly the encoding of its bytes.
 * @param {unknown} s
 * @returns {Buffer | null}
 */
function fromBase64(s) {
  if (typeof s !== 'string' || !BASE64.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : null;
}

/**
 * @param {unknown} s
 * @returns {s is string}
 */
const isHex64 = (s) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

module.exports = { fromBase64, isHex64 };
