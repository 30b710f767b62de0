import { assertSize, EMPTY_ROOT, foldRight, HASH_SIZE, nodeHash, rangeNodes, SubtreeSource, TreeNode } from './merkle';

/**
 * The right edge of the tree: the perfect subtrees covering [0, size), largest first (at most log2(size)
 * of them). Appending leaves completes new subtrees; append returns each of them (the leaves included)
 * so the sequencer can store them all in one statement.
 */
export class Frontier {
  private constructor(
    private currentSize: number,
    private readonly edge: TreeNode[],
  ) {}

  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /** Reads the edge of the tree of `size` leaves in one call to the source. */
  static async load(src: SubtreeSource, size: number): Promise<Frontier> {
    assertSize(size, 'size');
    const ids = rangeNodes(0, size);
    if (ids.length === 0) return Frontier.empty();
    const hashes = await src.get(ids);
    if (hashes.length !== ids.length) throw new Error(`asked for ${ids.length} tree nodes, got ${hashes.length}`);
    return new Frontier(
      size,
      ids.map((id, i) => {
        if (hashes[i].length !== HASH_SIZE) throw new Error(`tree node ${id.level}/${id.index} is not 32 bytes`);
        return { ...id, hash: Buffer.from(hashes[i]) };
      }),
    );
  }

  get size(): number {
    return this.currentSize;
  }

  /** The edge nodes, largest first. */
  get nodes(): readonly TreeNode[] {
    return this.edge.map((n) => ({ ...n, hash: Buffer.from(n.hash) }));
  }

  /** Appends leaves [size, size + n); all or nothing (a wrong hash length changes nothing). */
  append(leafHashes: readonly Buffer[]): TreeNode[] {
    leafHashes.forEach((h, i) => {
      if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
        throw new RangeError(`leaf hash ${i} is not ${HASH_SIZE} bytes`);
      }
    });
    assertSize(this.currentSize + leafHashes.length, 'size');
    const created: TreeNode[] = [];
    for (const h of leafHashes) {
      let node: TreeNode = { level: 0, index: this.currentSize, hash: Buffer.from(h) };
      created.push(node);
      // The new leaf completes one subtree per trailing level it shares with the edge's smallest node.
      while (this.edge.length > 0 && this.edge[this.edge.length - 1].level === node.level) {
        const left = this.edge.pop()!;
        node = { level: node.level + 1, index: left.index / 2, hash: nodeHash(left.hash, node.hash) };
        created.push(node);
      }
      this.edge.push(node);
      this.currentSize++;
    }
    return created;
  }

  root(): Buffer {
    return this.edge.length === 0 ? Buffer.from(EMPTY_ROOT) : foldRight(this.edge.map((n) => n.hash));
  }

  clone(): Frontier {
    return new Frontier(this.currentSize, [...this.nodes]);
  }
}
