import fc from 'fast-check';
import { Frontier, inclusionProof, inclusionRanges, leafHash as serviceLeafHash, MemorySubtreeSource } from '@app/tlog';
import { HASHER_VECTORS, hex, NOTE_VECTOR, TREE_VECTORS } from '../../../libs/tlog/test/vectors';
import { chainHash, GENESIS } from '../src/chain';
import { leafHash, nodeHash, rootFromInclusionProof, verifyInclusion } from '../src/merkle';
import { FormatError, openNote, parseCheckpoint, parseVerifierKey } from '../src/note';

// The offline verifier's own implementation against the same published vectors as libs/tlog.

const leaves = TREE_VECTORS.leaves.map((d) => leafHash(hex(d)));
const root = (size: number) => hex(TREE_VECTORS.rootsBySize[size - 1]);

describe('the verifier against RFC 6962 vectors', () => {
  it('hashes leaves and nodes as published', () => {
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(HASHER_VECTORS.emptyLeaf);
    expect(leafHash(Buffer.from(HASHER_VECTORS.leaf.data)).toString('hex')).toBe(HASHER_VECTORS.leaf.hash);
    const { left, right, hash } = HASHER_VECTORS.node;
    expect(nodeHash(Buffer.from(left), Buffer.from(right)).toString('hex')).toBe(hash);
  });

  it.each(TREE_VECTORS.inclusion)('verifies the published proof of leaf $leafIndex at size $size', (v) => {
    const proof = v.proof.map(hex);
    expect(verifyInclusion(v.leafIndex, v.size, leaves[v.leafIndex], proof, root(v.size))).toBe(true);
    expect(verifyInclusion(v.leafIndex, v.size, leaves[v.leafIndex], proof, root(Math.max(1, v.size - 1)))).toBe(
      v.size === 1,
    );
    if (v.size > 1) {
      expect(verifyInclusion(v.leafIndex + 1, v.size, leaves[v.leafIndex], proof, root(v.size))).toBe(false);
      expect(verifyInclusion(v.leafIndex, v.size * 2, leaves[v.leafIndex], proof, root(v.size))).toBe(false);
      expect(verifyInclusion(v.leafIndex, v.size, leaves[v.leafIndex], proof.slice(1), root(v.size))).toBe(false);
      expect(verifyInclusion(v.leafIndex, v.size, leaves[v.leafIndex], [...proof, root(1)], root(v.size))).toBe(false);
      const flipped = proof.map((p) => Buffer.from(p));
      flipped[0][0] ^= 8;
      expect(verifyInclusion(v.leafIndex, v.size, leaves[v.leafIndex], flipped, root(v.size))).toBe(false);
    }
  });

  it('refuses indexes outside the tree and hashes of the wrong length', () => {
    expect(rootFromInclusionProof(0, 0, leaves[0], [])).toBeNull();
    expect(rootFromInclusionProof(3, 3, leaves[0], [])).toBeNull();
    expect(rootFromInclusionProof(-1, 3, leaves[0], [])).toBeNull();
    expect(rootFromInclusionProof(0, 1, Buffer.alloc(31), [])).toBeNull();
    expect(verifyInclusion(2, 3, leaves[2], [Buffer.alloc(0)], root(3))).toBe(false);
  });

  it('verifies every proof the service builds, with the same proof lengths for sizes up to 2^53', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 260 }), fc.nat(), fc.nat(), async (size, a, b) => {
        const hashes = Array.from({ length: size }, (_, i) => serviceLeafHash(Buffer.from(`e${i}`)));
        const frontier = Frontier.empty();
        const src = new MemorySubtreeSource(frontier.append(hashes));
        const index = a % size;
        const proof = await inclusionProof(src, index, size);
        expect(verifyInclusion(index, size, hashes[index], proof, frontier.root())).toBe(true);
        if (proof.length > 0) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[b % bad.length][b % 32] ^= 1;
          expect(verifyInclusion(index, size, hashes[index], bad, frontier.root())).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
    // Sizes beyond 32 bits: the proof's length follows the index's bits, not a 32-bit truncation of them.
    fc.assert(
      fc.property(fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER }), fc.nat(), (size, a) => {
        const index = a % size;
        const length = inclusionRanges(index, size).length;
        const proof = (k: number) => new Array(k).fill(leaves[1]);
        expect(rootFromInclusionProof(index, size, leaves[0], proof(length))).not.toBeNull();
        expect(rootFromInclusionProof(index, size, leaves[0], proof(length + 1))).toBeNull();
        expect(rootFromInclusionProof(index, size, leaves[0], proof(length - 1))).toBeNull();
      }),
    );
  });
});

describe('the verifier against the signed-note reference example', () => {
  const v = () => parseVerifierKey(NOTE_VECTOR.verifierKey);

  it('opens the PeterNeumann note with its key', () => {
    expect(v().keyHash.toString('hex')).toBe('c74f20a3');
    expect(openNote(NOTE_VECTOR.note, v())).toBe(NOTE_VECTOR.text);
  });

  it('refuses the note changed, a mangled key, and a note without the key signature', () => {
    expect(() => openNote(NOTE_VECTOR.note.replace('cryptography', 'cryptographY'), v())).toThrow(FormatError);
    const vkey = NOTE_VECTOR.verifierKey;
    for (let i = 0; i < vkey.length; i++) {
      const mangled = vkey.slice(0, i) + String.fromCharCode(vkey.charCodeAt(i) + 1) + vkey.slice(i + 1);
      expect(() => parseVerifierKey(mangled)).toThrow();
    }
    expect(() => openNote(`${NOTE_VECTOR.text}\n\u2014 Other AAAAAAAAAA==\n`, v())).toThrow('no signature');
  });

  it('parses the tlog-checkpoint spec example', () => {
    const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    expect(parseCheckpoint(body)).toEqual({
      origin: 'example.com/behind-the-sofa',
      size: 20852163,
      rootHash: Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64'),
    });
    expect(() => parseCheckpoint(body.replace('20852163', '020852163'))).toThrow(FormatError);
  });
});

describe('the verifier against the service chain hash', () => {
  it('recomputes the hash the event store computes', async () => {
    const { canonicalEvent, chainHash: serviceChainHash, GENESIS_HASH } = await import('@app/event-store');
    expect(GENESIS).toBe(GENESIS_HASH);
    const e = {
      streamId: 'conversation-1',
      version: 2,
      type: 'MessageAdded',
      data: { text: 'é €\u2028', n: 1e21, z: [0.1, -0], a: { y: 1, b: 2 } },
      metadata: { tenantId: 'acme' },
      occurredAt: '2025-03-03T10:00:00.000Z',
      prevHash: 'ab'.repeat(32),
    };
    expect(chainHash(e)).toBe(serviceChainHash(e.prevHash, canonicalEvent(e)));
  });
});
