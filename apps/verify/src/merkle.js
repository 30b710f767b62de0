// @ts-check
'use strict';
// RFC 6962 / RFC 9162 Merkle hashing and inclusion proofs, written apart from the service's code on purpose:
// a verifier that shared the service's code would share its bugs. The proof is checked the way
// transparency-dev/merkle decomposes it (the path's inner part, then the right border), with BigInt bit
// arithmetic, not the RFC's loop the service uses.
const { createHash } = require('node:crypto');

const HASH_SIZE = 32;

/**
 * @param {Uint8Array} data
 * @returns {Buffer}
 */
function leafHash(data) {
  return createHash('sha256').update(Uint8Array.of(0)).update(data).digest();
}

/**
 * @param {Uint8Array} left
 * @param {Uint8Array} right
 * @returns {Buffer}
 */
function nodeHash(left, right) {
  return createHash('sha256').update(Uint8Array.of(1)).update(left).update(right).digest();
}

/** @param {bigint} n */
function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

/** @param {bigint} n */
function onesCount(n) {
  return n.toString(2).replace(/0/g, '').length;
}

/**
 * The root an inclusion proof leads to from a leaf hash, or null when the proof cannot belong to that index
 * and size (wrong length, a hash that is not 32 bytes, an index outside the tree).
 * @param {number} index
 * @param {number} size
 * @param {Uint8Array} leaf
 * @param {readonly Uint8Array[]} proof
 * @returns {Buffer | null}
 */
function rootFromInclusionProof(index, size, leaf, proof) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  if (leaf.length !== HASH_SIZE || proof.some((p) => p.length !== HASH_SIZE)) return null;
  const i = BigInt(index);
  // Below level `inner` the leaf's path and the tree's last leaf part ways: siblings on either side.
  const inner = bitLength(i ^ BigInt(size - 1));
  // Above it the path runs along the right border: one left sibling per set bit of the index there.
  const border = onesCount(i >> BigInt(inner));
  if (proof.length !== inner + border) return null;
  /** @type {Buffer} */
  let h = Buffer.from(leaf);
  for (let level = 0; level < inner; level++) {
    h = ((i >> BigInt(level)) & 1n) === 0n ? nodeHash(h, proof[level]) : nodeHash(proof[level], h);
  }
  for (const p of proof.slice(inner)) h = nodeHash(p, h);
  return h;
}

/**
 * @param {number} index
 * @param {number} size
 * @param {Uint8Array} leaf
 * @param {readonly Uint8Array[]} proof
 * @param {Uint8Array} root
 */
function verifyInclusion(index, size, leaf, proof, root) {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== null && root.length === HASH_SIZE && computed.equals(root);
}

module.exports = { HASH_SIZE, leafHash, nodeHash, rootFromInclusionProof, verifyInclusion };
