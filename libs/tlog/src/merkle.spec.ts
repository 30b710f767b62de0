import fc from 'fast-check';
import { HASHER_VECTORS, hex, TREE_VECTORS } from '../test/vectors';
import { Frontier } from './frontier';
import { MemorySubtreeSource } from './memory-source';
import { consistencyProof, EMPTY_ROOT, inclusionProof, leafHash, nodeHash, rangeNodes, rootAt, rootOf } from './merkle';
import { verifyConsistency, verifyInclusion } from './merkle-verify';

const leafHashes = TREE_VECTORS.leaves.map((d) => leafHash(hex(d)));
const rootHex = (size: number) => TREE_VECTORS.rootsBySize[size - 1];

/** A stored tree of the given leaf hashes, built the way the sequencer builds it. */
function storedTree(hashes: readonly Buffer[], batch = 3): MemorySubtreeSource {
  const frontier = Frontier.empty();
  const src = new MemorySubtreeSource();
  for (let i = 0; i < hashes.length; i += batch) src.put(frontier.append(hashes.slice(i, i + batch)));
  src.reads = 0;
  src.nodesRead = 0;
  return src;
}

const syntheticLeaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`, 'utf8')));

describe('RFC 6962 hashing', () => {
  it('hashes the empty tree, leaves and nodes as the published vectors', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe(HASHER_VECTORS.emptyRoot);
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(HASHER_VECTORS.emptyLeaf);
    expect(leafHash(Buffer.from(HASHER_VECTORS.leaf.data)).toString('hex')).toBe(HASHER_VECTORS.leaf.hash);
    const { left, right, hash } = HASHER_VECTORS.node;
    expect(nodeHash(Buffer.from(left), Buffer.from(right)).toString('hex')).toBe(hash);
  });

  it('computes the root of every prefix of the reference tree, in memory and from the stored tree', async () => {
    const src = storedTree(leafHashes);
    for (let size = 1; size <= 8; size++) {
      expect(rootOf(leafHashes.slice(0, size)).toString('hex')).toBe(rootHex(size));
      expect((await rootAt(src, size)).toString('hex')).toBe(rootHex(size));
    }
    expect(rootOf([])).toEqual(EMPTY_ROOT);
    expect(await rootAt(src, 0)).toEqual(EMPTY_ROOT);
  });
});

describe(inclusionProof.name, () => {
  it.each(TREE_VECTORS.inclusion)('builds the published proof of leaf $leafIndex at size $size', async (v) => {
    const src = storedTree(leafHashes);
    const proof = await inclusionProof(src, v.leafIndex, v.size);
    expect(proof.map((p) => p.toString('hex'))).toEqual(v.proof);
    expect(verifyInclusion(v.leafIndex, v.size, leafHashes[v.leafIndex], proof, hex(rootHex(v.size)))).toBe(true);
  });

  it('refuses a leaf at or beyond the size', async () => {
    const src = storedTree(leafHashes);
    await expect(inclusionProof(src, 8, 8)).rejects.toThrow(RangeError);
    await expect(inclusionProof(src, 0, 0)).rejects.toThrow(RangeError);
    await expect(inclusionProof(src, -1, 3)).rejects.toThrow(RangeError);
    await expect(inclusionProof(src, 0.5, 3)).rejects.toThrow(RangeError);
  });
});

describe(consistencyProof.name, () => {
  it.each(TREE_VECTORS.consistency)('builds the published proof from $from to $to', async (v) => {
    const src = storedTree(leafHashes);
    const proof = await consistencyProof(src, v.from, v.to);
    expect(proof.map((p) => p.toString('hex'))).toEqual(v.proof);
    expect(verifyConsistency(v.from, v.to, proof, hex(rootHex(v.from)), hex(rootHex(v.to)))).toBe(true);
  });

  it('answers an empty proof from 0 and refuses from beyond to', async () => {
    const src = storedTree(leafHashes);
    expect(await consistencyProof(src, 0, 5)).toEqual([]);
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, hex(rootHex(5)))).toBe(true);
    await expect(consistencyProof(src, 6, 5)).rejects.toThrow(RangeError);
  });
});

describe(verifyInclusion.name, () => {
  // The corruptions of transparency-dev/merkle's verifier tests: none of them may verify.
  it.each(TREE_VECTORS.inclusion.filter((v) => v.proof.length > 0))(
    'refuses every corruption of the proof of leaf $leafIndex at size $size',
    (v) => {
      const proof = v.proof.map(hex);
      const root = hex(rootHex(v.size));
      const leaf = leafHashes[v.leafIndex];
      const some = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
      const probes: [number, number, Buffer, Buffer[], Buffer][] = [
        [v.leafIndex - 1, v.size, leaf, proof, root],
        [v.leafIndex + 1, v.size, leaf, proof, root],
        [v.leafIndex ^ 2, v.size, leaf, proof, root],
        [v.leafIndex, v.size * 2, leaf, proof, root],
        [v.leafIndex, Math.floor(v.size / 2), leaf, proof, root],
        [v.leafIndex, v.size, Buffer.from('WrongLeaf'), proof, root],
        [v.leafIndex, v.size, leaf, proof, EMPTY_ROOT],
        [v.leafIndex, v.size, leaf, proof, some],
        [v.leafIndex, v.size, leaf, [...proof, Buffer.alloc(0)], root],
        [v.leafIndex, v.size, leaf, [...proof, root], root],
        [v.leafIndex, v.size, leaf, [Buffer.alloc(0), ...proof], root],
        [v.leafIndex, v.size, leaf, [root, ...proof], root],
        [v.leafIndex, v.size, leaf, proof.slice(0, -1), root],
        ...proof.map((_, i): [number, number, Buffer, Buffer[], Buffer] => {
          const wrong = proof.map((p) => Buffer.from(p));
          wrong[i][0] ^= 8;
          return [v.leafIndex, v.size, leaf, wrong, root];
        }),
      ];
      if (proof.length > 1) probes.push([v.leafIndex, v.size, leaf, [proof[0], some, ...proof.slice(1)], root]);
      for (const [i, n, l, p, r] of probes) expect(verifyInclusion(i, n, l, p, r)).toBe(false);
    },
  );

  it('accepts the one-leaf tree whose root is its leaf, and nothing else there', () => {
    const h = leafHash(Buffer.from('data'));
    expect(verifyInclusion(0, 1, h, [], h)).toBe(true);
    expect(verifyInclusion(0, 1, h, [], Buffer.alloc(0))).toBe(false);
    expect(verifyInclusion(0, 0, h, [], h)).toBe(false);
    expect(verifyInclusion(1, 1, h, [], h)).toBe(false);
  });
});

describe(verifyConsistency.name, () => {
  it.each(TREE_VECTORS.consistency.filter((v) => v.proof.length > 0))(
    'refuses every corruption of the proof from $from to $to',
    (v) => {
      const proof = v.proof.map(hex);
      const [r1, r2] = [hex(rootHex(v.from)), hex(rootHex(v.to))];
      const probes: [number, number, Buffer[], Buffer, Buffer][] = [
        [v.from - 1, v.to, proof, r1, r2],
        [v.from + 1, v.to, proof, r1, r2],
        [v.from ^ 2, v.to, proof, r1, r2],
        [v.from, v.to * 2, proof, r1, r2],
        [v.from, Math.floor(v.to / 2), proof, r1, r2],
        [v.from, v.to, proof, Buffer.from('WrongRoot'), r2],
        [v.from, v.to, proof, r1, Buffer.from('WrongRoot')],
        [v.from, v.to, proof, r2, r1],
        [v.from, v.to, [], r1, r2],
        [v.from, v.to, [...proof, Buffer.alloc(0)], r1, r2],
        [v.from, v.to, [...proof, r1], r1, r2],
        [v.from, v.to, [...proof, r2], r1, r2],
        [v.from, v.to, [Buffer.alloc(0), ...proof], r1, r2],
        [v.from, v.to, [r1, ...proof], r1, r2],
        [v.from, v.to, [r2, ...proof], r1, r2],
        [v.from, v.to, [proof[0], ...proof], r1, r2],
        [v.from, v.to, proof.slice(0, -1), r1, r2],
        ...proof.map((_, i): [number, number, Buffer[], Buffer, Buffer] => {
          const wrong = proof.map((p) => Buffer.from(p));
          wrong[i][0] ^= 16;
          return [v.from, v.to, wrong, r1, r2];
        }),
      ];
      for (const [a, b, p, x, y] of probes) expect(verifyConsistency(a, b, p, x, y)).toBe(false);
    },
  );

  it('accepts equal sizes only with equal roots and an empty proof', () => {
    const r = hex(rootHex(3));
    expect(verifyConsistency(3, 3, [], r, r)).toBe(true);
    expect(verifyConsistency(3, 3, [], r, hex(rootHex(4)))).toBe(false);
    expect(verifyConsistency(3, 3, [r], r, r)).toBe(false);
    expect(verifyConsistency(0, 3, [], hex(rootHex(1)), r)).toBe(false);
    expect(verifyConsistency(4, 3, [], r, r)).toBe(false);
  });
});

describe(rangeNodes.name, () => {
  it('covers a range with aligned perfect subtrees, largest first', () => {
    expect(rangeNodes(0, 7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(rangeNodes(2 ** 52, 2 ** 52 + 3)).toEqual([
      { level: 1, index: 2 ** 51 },
      { level: 0, index: 2 ** 52 + 2 },
    ]);
  });
});

describe('proofs over the stored tree (properties)', () => {
  it('roots and proofs from the nodes Frontier.append stores match the in-memory tree', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 17 }),
        fc.nat(),
        fc.nat(),
        async (size, batch, a, b) => {
          const leaves = syntheticLeaves(size);
          const src = storedTree(leaves, batch);
          const index = a % size;
          const from = (b % size) + 1;
          const root = rootOf(leaves);
          // Each of the three reads its nodes in one call at most.
          const once = async <T>(op: () => Promise<T>): Promise<T> => {
            const before = src.reads;
            const result = await op();
            expect(src.reads - before).toBeLessThanOrEqual(1);
            return result;
          };
          expect(await once(() => rootAt(src, size))).toEqual(root);
          const proof = await once(() => inclusionProof(src, index, size));
          expect(verifyInclusion(index, size, leaves[index], proof, root)).toBe(true);
          const fromRoot = rootOf(leaves.slice(0, from));
          const cproof = await once(() => consistencyProof(src, from, size));
          expect(verifyConsistency(from, size, cproof, fromRoot, root)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a flipped byte anywhere fails the proof', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.nat(), fc.nat(), async (size, a, b, c) => {
        const leaves = syntheticLeaves(size);
        const src = storedTree(leaves);
        const index = a % size;
        const root = rootOf(leaves);
        const proof = await inclusionProof(src, index, size);
        const which = b % (proof.length + 2); // a proof hash, the leaf or the root
        const flip = (h: Buffer) => {
          const x = Buffer.from(h);
          x[c % 32] ^= 1 << (c % 8);
          return x;
        };
        const p = proof.map((h, i) => (i === which ? flip(h) : h));
        const leaf = which === proof.length ? flip(leaves[index]) : leaves[index];
        const r = which === proof.length + 1 ? flip(root) : root;
        expect(verifyInclusion(index, size, leaf, p, r)).toBe(false);

        const from = (c % (size - 1)) + 1;
        const cproof = await consistencyProof(src, from, size);
        const fromRoot = rootOf(leaves.slice(0, from));
        const cwhich = b % (cproof.length + 2);
        const cp = cproof.map((h, i) => (i === cwhich ? flip(h) : h));
        const r1 = cwhich === cproof.length ? flip(fromRoot) : fromRoot;
        const r2 = cwhich === cproof.length + 1 ? flip(root) : root;
        expect(verifyConsistency(from, size, cp, r1, r2)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('reads O(log n) nodes in one call for a tree of 2^40 leaves', async () => {
    const asked: number[] = [];
    const src = {
      get: async (ids: readonly { level: number; index: number }[]) => {
        asked.push(ids.length);
        return ids.map(() => Buffer.alloc(32, 7));
      },
    };
    const size = 2 ** 40 - 12345;
    await rootAt(src, size);
    await inclusionProof(src, 2 ** 39 + 77, size);
    await consistencyProof(src, 2 ** 38 + 3, size);
    expect(asked.length).toBe(3);
    for (const n of asked) expect(n).toBeLessThanOrEqual(2 * 40);
  });
});
