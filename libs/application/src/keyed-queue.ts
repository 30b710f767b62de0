/** A key's queue is at its bound: the task was refused, not run. */
export class KeyedQueueFull extends Error {
  constructor(readonly key: string) {
    super(`the queue of ${key} is full`);
  }
}

interface Lane {
  /** Settles when the last task queued so far has settled. */
  tail: Promise<void>;
  /** Tasks queued or running. */
  size: number;
}

/**
 * Runs the tasks of one key one at a time, in arrival order; tasks of different keys run
 * concurrently. At most `perKey` tasks wait or run per key: beyond, KeyedQueueFull at once. A
 * key is forgotten as soon as its last task settles, so idle keys hold no memory.
 */
export class KeyedQueue {
  private readonly lanes = new Map<string, Lane>();

  constructor(readonly perKey: number) {
    if (!Number.isSafeInteger(perKey) || perKey < 1)
      throw new Error(`perKey must be a positive integer, got ${perKey}`);
  }

  /** Keys with a task queued or running. */
  get activeKeys(): number {
    return this.lanes.size;
  }

  /** Tasks queued or running for a key. */
  sizeOf(key: string): number {
    return this.lanes.get(key)?.size ?? 0;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { tail: Promise.resolve(), size: 0 }));
    if (lane.size >= this.perKey) return Promise.reject(new KeyedQueueFull(key));
    lane.size++;
    const result = lane.tail.then(task);
    const settled = (): void => {
      if (--lane.size === 0) this.lanes.delete(key);
    };
    lane.tail = result.then(settled, settled);
    return result;
  }
}
