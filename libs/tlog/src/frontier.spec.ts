import fc from 'fast-check';
import { Frontier } from './frontier';
import { MemorySubtreeSource } from './memory-source';
import { EMPTY_ROOT, leafHash, rootOf } from './merkle';

const leaves = (n: number, salt = '') => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${salt}${i}`)));

describe(Frontier.name, () => {
  it('returns every node an append completes, leaves included, each once', () => {
    const f = Frontier.empty();
    expect(f.root()).toEqual(EMPTY_ROOT);
    const nodes = f.append(leaves(4));
    expect(nodes.map((n) => `${n.level}/${n.index}`)).toEqual(['0/0', '0/1', '1/0', '0/2', '0/3', '1/1', '2/0']);
    expect(f.size).toBe(4);
    expect(f.nodes.map((n) => `${n.level}/${n.index}`)).toEqual(['2/0']);
    expect(f.append(leaves(3, 'x')).map((n) => `${n.level}/${n.index}`)).toEqual(['0/4', '0/5', '1/2', '0/6']);
    expect(f.nodes.map((n) => `${n.level}/${n.index}`)).toEqual(['2/0', '1/2', '0/6']);
  });

  it('resumes from the stored edge exactly where it stopped (properties)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), async (a, b) => {
        const all = leaves(a + b);
        const first = Frontier.empty();
        const src = new MemorySubtreeSource(first.append(all.slice(0, a)));
        src.reads = 0;
        const resumed = await Frontier.load(src, a);
        expect(src.reads).toBeLessThanOrEqual(1);
        expect(resumed.root()).toEqual(rootOf(all.slice(0, a)));
        src.put(resumed.append(all.slice(a)));
        expect(resumed.size).toBe(a + b);
        expect(resumed.root()).toEqual(rootOf(all));
        // Every perfect subtree of the tree was stored once: 2n - popcount(n) nodes.
        const n = a + b;
        expect(src.size).toBe(2 * n - n.toString(2).replace(/0/g, '').length);
      }),
      { numRuns: 150 },
    );
  });

  it('changes nothing when a leaf hash has the wrong length', () => {
    const f = Frontier.empty();
    f.append(leaves(3));
    const root = f.root();
    expect(() => f.append([...leaves(2, 'y'), Buffer.alloc(31)])).toThrow(RangeError);
    expect(f.size).toBe(3);
    expect(f.root()).toEqual(root);
  });

  it('clones independently', () => {
    const f = Frontier.empty();
    f.append(leaves(5));
    const g = f.clone();
    g.append(leaves(1, 'z'));
    expect(f.size).toBe(5);
    expect(f.root()).toEqual(rootOf(leaves(5)));
    expect(g.size).toBe(6);
  });

  it('refuses a stored node of the wrong length', async () => {
    const src = { get: async (ids: readonly unknown[]) => ids.map(() => Buffer.alloc(31)) };
    await expect(Frontier.load(src, 3)).rejects.toThrow('32 bytes');
  });
});
