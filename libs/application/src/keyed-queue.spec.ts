import { KeyedQueue, KeyedQueueFull } from './keyed-queue';

/** A task that runs until released, recording when it starts. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  return { task: async () => (log.push(`start ${name}`), await released, log.push(`end ${name}`), name), release };
}

const flush = () => new Promise((r) => setImmediate(r));

describe(KeyedQueue.name, () => {
  it('runs the tasks of one key one at a time, in arrival order', async () => {
    const queue = new KeyedQueue(10);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => gate(log, n));
    const results = [queue.run('k', a.task), queue.run('k', b.task), queue.run('k', c.task)];
    await flush();
    expect(log).toEqual(['start a']);
    c.release();
    b.release();
    a.release();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs tasks of different keys at once', async () => {
    const queue = new KeyedQueue(10);
    const log: string[] = [];
    const [a, b] = ['a', 'b'].map((n) => gate(log, n));
    const results = [queue.run('k1', a.task), queue.run('k2', b.task)];
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    a.release();
    b.release();
    await Promise.all(results);
  });

  it('refuses a task past its bound per key at once, without running it; takes more once there is room', async () => {
    const queue = new KeyedQueue(2);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => gate(log, n));
    const first = [queue.run('k', a.task), queue.run('k', b.task)];
    await expect(queue.run('k', c.task)).rejects.toEqual(new KeyedQueueFull('k'));
    // another key has its own bound
    const other = gate(log, 'other');
    const elsewhere = queue.run('k2', other.task);
    expect(queue.sizeOf('k')).toBe(2);
    a.release();
    await first[0];
    const later = queue.run('k', c.task);
    b.release();
    c.release();
    other.release();
    await Promise.all([...first, later, elsewhere]);
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start a', 'start other', 'start b', 'start c']);
  });

  it('goes on after a failed task, and hands the failure to its caller only', async () => {
    const queue = new KeyedQueue(10);
    const failed = queue.run('k', () => Promise.reject(new Error('boom')));
    const next = queue.run('k', async () => 'next');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
  });

  it('forgets a key once its last task has settled (idle keys hold no memory)', async () => {
    const queue = new KeyedQueue(20);
    await Promise.all(Array.from({ length: 100 }, (_, i) => queue.run(`k${i % 7}`, async () => i)));
    await queue.run('x', () => Promise.reject(new Error('boom'))).catch(() => undefined);
    await flush();
    expect(queue.activeKeys).toBe(0);
  });
});
