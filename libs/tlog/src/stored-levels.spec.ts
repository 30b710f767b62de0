import fc from 'fast-check';
import { Frontier } from './frontier';
import { MemorySubtreeSource } from './memory-source';
import { consistencyProof, inclusionProof, leafHash, rangeNodes, rootAt, type TreeNode } from './merkle';
import { foldPairs, isStoredLevel, LEVEL_STEP, SteppedSource, storedRunOf } from './stored-levels';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`, 'utf8')));

/** Every node of a tree of n leaves, appended in batches as the sequencer does. */
function allNodes(n: number, batch = 7): TreeNode[] {
  const frontier = Frontier.empty();
  const hashes = leaves(n);
  const nodes: TreeNode[] = [];
  for (let i = 0; i < n; i += batch) nodes.push(...frontier.append(hashes.slice(i, i + batch)));
  return nodes;
}

/** The reference (every level, the pure core's MemorySubtreeSource) and the stored form (every fourth level). */
function trees(n: number) {
  const nodes = allNodes(n);
  const stored = new MemorySubtreeSource(nodes.filter((x) => isStoredLevel(x.level)));
  return { full: new MemorySubtreeSource(nodes), stored, stepped: new SteppedSource(stored) };
}

describe('a tree stored every fourth level', () => {
  it('stores levels 0, 4, 8, …: a leaf hash per leaf and about 1/15 of a node more', () => {
    const nodes = allNodes(4096);
    const kept = nodes.filter((x) => isStoredLevel(x.level));
    expect(LEVEL_STEP).toBe(4);
    expect([...new Set(kept.map((x) => x.level))]).toEqual([0, 4, 8, 12]);
    expect(kept.length).toBe(4096 + 256 + 16 + 1);
    expect(nodes.length).toBe(2 * 4096 - 1);
  });

  it('computes a node of another level from the at most 8 stored nodes below it', () => {
    expect(storedRunOf({ level: 0, index: 9 })).toEqual({ level: 0, from: 9, count: 1 });
    expect(storedRunOf({ level: 3, index: 5 })).toEqual({ level: 0, from: 40, count: 8 });
    expect(storedRunOf({ level: 6, index: 3 })).toEqual({ level: 4, from: 12, count: 4 });
    expect(storedRunOf({ level: 8, index: 2 })).toEqual({ level: 8, from: 2, count: 1 });
    const nodes = allNodes(64);
    const find = (level: number, index: number) => nodes.find((x) => x.level === level && x.index === index)!.hash;
    const run = storedRunOf({ level: 3, index: 5 });
    const below = Array.from({ length: run.count }, (_, k) => find(run.level, run.from + k));
    expect(foldPairs(below)).toEqual(find(3, 5));
  });

  it('gives every root, and the inclusion proofs, the pure core gives, for sizes 1 to 300', async () => {
    const { full, stepped } = trees(300);
    for (let size = 1; size <= 300; size++) {
      expect(await rootAt(stepped, size)).toEqual(await rootAt(full, size));
      // Every leaf of the small trees; the left edge, the middle and the right edge of the others.
      const leafIndexes = size <= 40 ? [...Array(size).keys()] : [0, size >> 1, size - 2, size - 1];
      for (const leaf of leafIndexes) {
        expect(await inclusionProof(stepped, leaf, size)).toEqual(await inclusionProof(full, leaf, size));
      }
    }
  });

  it('gives the consistency proofs the pure core gives: every pair up to 40, four to each size up to 300', async () => {
    const { full, stepped } = trees(300);
    for (let to = 1; to <= 300; to++) {
      for (const from of to <= 40 ? [...Array(to + 1).keys()] : [1, 16, to >> 1, to - 1]) {
        expect(await consistencyProof(stepped, from, to)).toEqual(await consistencyProof(full, from, to));
      }
    }
  });

  it('agrees with the pure core on large trees, non-powers of two and right edges included (properties)', async () => {
    const n = 20_000;
    const { full, stepped, stored } = trees(n);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: n }),
        fc.integer({ min: 0, max: n }),
        fc.nat(),
        async (size, other, pick) => {
          const leaf = pick % 3 === 0 ? size - 1 : pick % size;
          stored.reads = 0;
          stored.nodesRead = 0;
          const path = await inclusionProof(stepped, leaf, size);
          expect(path).toEqual(await inclusionProof(full, leaf, size));
          // One read per proof, and at most 8 stored hashes per node of the proof.
          expect(stored.reads).toBe(path.length > 0 ? 1 : 0);
          expect(stored.nodesRead).toBeLessThanOrEqual(8 * path.length);
          const [from, to] = other <= size ? [other, size] : [size, other];
          expect(await consistencyProof(stepped, from, to)).toEqual(await consistencyProof(full, from, to));
          expect(await rootAt(stepped, size)).toEqual(await rootAt(full, size));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('resumes the edge of the tree from the stored levels, and what it appends next is the same', async () => {
    for (const [a, b] of [
      [0, 17],
      [15, 1],
      [16, 300],
      [255, 2],
      [1000, 1049],
    ]) {
      const all = leaves(a + b);
      const first = Frontier.empty();
      const stored = new MemorySubtreeSource(first.append(all.slice(0, a)).filter((x) => isStoredLevel(x.level)));
      const resumed = await Frontier.load(new SteppedSource(stored), a);
      expect(resumed.nodes).toEqual(first.nodes);
      expect(resumed.append(all.slice(a))).toEqual(first.append(all.slice(a)));
    }
  });

  it('reads a tree stored with every level (as sequenced before) the same way', async () => {
    const full = new MemorySubtreeSource(allNodes(100));
    const stepped = new SteppedSource(full);
    for (const size of [1, 5, 16, 17, 63, 100]) {
      expect(await rootAt(stepped, size)).toEqual(await rootAt(full, size));
      expect(await inclusionProof(stepped, size - 1, size)).toEqual(await inclusionProof(full, size - 1, size));
    }
  });

  it('names the stored nodes that are missing, and refuses a hash of another length', async () => {
    const nodes = allNodes(16).filter((x) => isStoredLevel(x.level) && !(x.level === 0 && x.index === 5));
    const stepped = new SteppedSource(new MemorySubtreeSource(nodes));
    await expect(rootAt(stepped, 8)).rejects.toThrow('tree nodes 0/0..7 are not all stored');
    expect(await rootAt(stepped, 16)).toEqual(nodes.find((x) => x.level === 4)!.hash);
    const short = new MemorySubtreeSource([...nodes, { level: 0, index: 5, hash: Buffer.alloc(31) }]);
    await expect(rootAt(new SteppedSource(short), 8)).rejects.toThrow(/tree node 0\/5 is not 32 bytes/);
    expect(rangeNodes(0, 8)).toEqual([{ level: 3, index: 0 }]);
  });
});
