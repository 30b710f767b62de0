import { NodeId, SubtreeSource, TreeNode } from './merkle';
import type { NodeRun, NodeRunReader } from './stored-levels';

/**
 * A SubtreeSource held in memory (tests, tools); counts its reads so tests can see one read per
 * proof. Also a NodeRunReader, for a SteppedSource over the levels it holds.
 */
export class MemorySubtreeSource implements SubtreeSource, NodeRunReader {
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

  /** Counted as one read; a run holds only the nodes held (a missing one makes it short, as in SQL). */
  async readRuns(runs: readonly NodeRun[]): Promise<Buffer[][]> {
    this.reads++;
    return runs.map((run) => {
      const out: Buffer[] = [];
      for (let i = run.from; i < run.from + run.count; i++) {
        const h = this.hashes.get(key({ level: run.level, index: i }));
        if (h) out.push(Buffer.from(h));
      }
      this.nodesRead += out.length;
      return out;
    });
  }
}

const key = (n: NodeId) => `${n.level}/${n.index}`;
