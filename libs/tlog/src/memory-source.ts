import { NodeId, SubtreeSource, TreeNode } from './merkle';

/** A SubtreeSource held in memory (tests, tools); counts its reads so tests can see one read per proof. */
export class MemorySubtreeSource implements SubtreeSource {
  private readonly hashes = new Map<string, Buffer>();
  /** Calls of get, and nodes asked for in all of them. */
  reads = 0;
  nodesRead = 0;

  constructor(nodes: readonly TreeNode[] = []) {
    this.put(nodes);
  }

  put(nodes: readonly TreeNode[]): void {
    for (const n of nodes) this.hashes.set(key(n), Buffer.from(n.hash));
  }

  get size(): number {
    return this.hashes.size;
  }

  async get(nodes: readonly NodeId[]): Promise<Buffer[]> {
    this.reads++;
    this.nodesRead += nodes.length;
    return nodes.map((n) => {
      const h = this.hashes.get(key(n));
      if (!h) throw new Error(`tree node ${key(n)} is not stored`);
      return Buffer.from(h);
    });
  }
}

const key = (n: NodeId) => `${n.level}/${n.index}`;
