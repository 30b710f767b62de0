// @ts-check
'use strict';
// The event hash chain: hash = sha256_hex(prevHash + RFC 8785 canonical JSON of the hashed fields).
const { createHash } = require('node:crypto');
const { canonicalize } = require('json-canonicalize');

const GENESIS = '0'.repeat(64);

/**
 * @param {{ streamId: string, version: number, type: string, data: unknown, metadata: unknown,
 *   occurredAt: string, prevHash: string }} stored
 * @returns {string}
 */
function chainHash(stored) {
  const { streamId, version, type, data, metadata, occurredAt } = stored;
  const canonical = canonicalize({ streamId, version, type, data, metadata, occurredAt });
  return createHash('sha256')
    .update(stored.prevHash + canonical, 'utf8')
    .digest('hex');
}

module.exports = { GENESIS, chainHash };
