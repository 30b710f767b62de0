import { HASH_SIZE, type NodeId, nodeHash, type SubtreeSource } from './merkle';

/**
 * The tree is stored every LEVEL_STEP levels: level 0 (the leaf hashes), then 4, 8, 12, … About
 * 1/15 of a node per leaf is stored above the leaf's own hash, where every level would cost one.
 * A node of a level in between is computed from the 2^r nodes below it at the stored level
 * (r = level mod LEVEL_STEP, so at most 8 hashes, consecutive): a root or a proof still reads
 * O(log n) hashes, in one query, a constant factor more than with every level stored.
 */
export const LEVEL_STEP = 4;

/** Whether the sequencer stores the nodes of this level. */
export function isStoredLevel(level: number): boolean {
  return level % LEVEL_STEP === 0;
}

/** Consecutive stored nodes of one level: indexes [from, from + count). */
export interface NodeRun {
  level: number;
  from: number;
  count: number;
}

/**
 * The stored nodes a node is computed from: itself when its level is stored, else its
 * descendants at the stored level below.
 */
export function storedRunOf(node: NodeId): NodeRun {
  const r = node.level % LEVEL_STEP;
  const count = 2 ** r;
  return { level: node.level - r, from: node.index * count, count };
}

/**
 * Reads runs of stored nodes, all of them in one call (one SQL query): each run's hashes in
 * index order, the runs in the order asked; throws when a node of a run is not stored.
 */
export interface NodeRunReader {
  readRuns(runs: readonly NodeRun[]): Promise<Buffer[][]>;
}

/** The root of 2^r side-by-side perfect subtrees of one level, largest index last: r levels of pairs. */
export function foldPairs(hashes: readonly Buffer[]): Buffer {
  let level = [...hashes];
  while (level.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i], level[i + 1]));
    level = up;
  }
  return Buffer.from(level[0]);
}

const runKey = (r: NodeRun) => `${r.level}/${r.from}/${r.count}`;

/**
 * A SubtreeSource over a tree stored every LEVEL_STEP levels (any node of a stored level may be
 * stored; nodes of other levels may be stored too, as in trees stored before, and are not read).
 * Every node asked is computed from its stored run; the runs of one call are read in one call.
 */
export class SteppedSource implements SubtreeSource {
  constructor(private readonly reader: NodeRunReader) {}

  async get(nodes: readonly NodeId[]): Promise<Buffer[]> {
    if (nodes.length === 0) return [];
    const runs = new Map<string, NodeRun>();
    for (const node of nodes) {
      const run = storedRunOf(node);
      runs.set(runKey(run), run);
    }
    const asked = [...runs.values()];
    const read = await this.reader.readRuns(asked);
    if (read.length !== asked.length)
      throw new Error(`asked for ${asked.length} runs of tree nodes, got ${read.length}`);
    const computed = new Map<string, Buffer>();
    asked.forEach((run, i) => {
      const hashes = read[i];
      if (hashes.length !== run.count) {
        throw new Error(`tree nodes ${run.level}/${run.from}..${run.from + run.count - 1} are not all stored`);
      }
      hashes.forEach((h, k) => {
        if (h.length !== HASH_SIZE) throw new Error(`tree node ${run.level}/${run.from + k} is not ${HASH_SIZE} bytes`);
      });
      computed.set(runKey(run), foldPairs(hashes));
    });
    return nodes.map((node) => Buffer.from(computed.get(runKey(storedRunOf(node)))!));
  }
}
