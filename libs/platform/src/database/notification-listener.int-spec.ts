import { createTestDatabase, TestDatabase } from '@app/testing';
import { NotificationListener, NotificationListenerOptions } from './notification-listener';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done` (at most 10 s); returns whether it became true. */
async function eventually(done: () => boolean): Promise<boolean> {
  for (const until = Date.now() + 10_000; Date.now() < until && !done();) await sleep(10);
  return done();
}

describe(NotificationListener.name, () => {
  let db: TestDatabase;
  const listeners: NotificationListener[] = [];
  const heard: [string, string][] = [];
  const warnings: string[] = [];
  const listen = async (more: Partial<NotificationListenerOptions> = {}) => {
    const listener = new NotificationListener({
      // The runtime login: LISTEN needs no right beyond connecting.
      connection: { connectionString: db.runtimeUrl, application_name: 'listener-under-test' },
      channels: ['one', 'Two'],
      onNotification: (channel, payload) => heard.push([channel, payload]),
      warn: (m) => warnings.push(m),
      reconnectMs: 20,
      ...more,
    });
    listeners.push(listener);
    await listener.start();
    return listener;
  };
  const terminate = () =>
    db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'listener-under-test'`,
    );

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop()));
    heard.length = 0;
    warnings.length = 0;
  });
  afterAll(() => db.drop());

  it('hears every channel it listens on, and wakes a waiter at a notification', async () => {
    const listener = await listen();
    expect(listener.live).toBe(true);
    // A timeout far beyond the test's: only the notification can end this wait in time.
    const woken = listener.next(10 * 60_000);
    await db.pool.query(`SELECT pg_notify('one', 'a'), pg_notify('Two', 'b'), pg_notify('three', 'c')`);
    await woken;
    expect(await eventually(() => heard.length === 2)).toBe(true);
    expect(heard).toEqual([
      ['one', 'a'],
      ['Two', 'b'],
    ]);
  });

  it('wakes a wait at once for a notification heard after the mark it was given', async () => {
    const listener = await listen();
    const mark = listener.mark();
    // Nothing heard since the mark: the wait waits (a timeout far beyond the test's).
    const waiting = listener.changes.next(10 * 60_000, mark).then(() => 'woken');
    const pause = new Promise((done) => setTimeout(() => done('waiting'), 50));
    expect(await Promise.race([waiting, pause])).toBe('waiting');
    await db.pool.query(`SELECT pg_notify('one', 'a')`);
    expect(await waiting).toBe('woken');
    await eventually(() => listener.mark() !== mark);
    // Heard between the mark and the wait (a timeout far beyond the test's): resolved at once.
    await listener.changes.next(10 * 60_000, mark);
    expect(listener.mark()).toBe(mark + 1);
  });

  it('is not live while its connection is gone, reconnects, and catches up from the last sign of life', async () => {
    const resumed: Date[] = [];
    const listener = await listen({ onResumed: async (_client, downSince) => void resumed.push(downSince) });
    const { rows } = await db.pool.query<{ now: Date }>('SELECT now()');
    await terminate();
    expect(await eventually(() => !listener.live || resumed.length > 0)).toBe(true);
    expect(await eventually(() => listener.live && resumed.length === 1)).toBe(true);
    // The database's time at connecting, before the loss.
    expect(resumed[0].getTime()).toBeLessThanOrEqual(rows[0].now.getTime());
    expect(warnings.join('\n')).toMatch(/LISTEN connection lost/);
    await db.pool.query(`SELECT pg_notify('one', 'again')`);
    expect(await eventually(() => heard.length === 1)).toBe(true);
  });

  it('starts without the database, backs off while it is away, and stops trying when stopped', async () => {
    const listener = await listen({
      connection: { connectionString: 'postgres://nobody@127.0.0.1:1/none' },
      maxReconnectMs: 80,
    });
    expect(listener.live).toBe(false);
    expect(await eventually(() => warnings.length >= 4)).toBe(true);
    expect(warnings.map((w) => /reconnecting in (\d+) ms/.exec(w)?.[1]).slice(0, 4)).toEqual(['20', '40', '80', '80']);
    await listener.stop();
    const count = warnings.length;
    await sleep(200);
    expect(warnings.length).toBe(count);
  });

  it('wakes its waiters when stopped', async () => {
    const listener = await listen();
    const woken = listener.next(10 * 60_000);
    await listener.stop();
    await expect(woken).resolves.toBeUndefined();
    expect(listener.live).toBe(false);
  });
});
