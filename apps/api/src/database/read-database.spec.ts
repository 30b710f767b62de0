import { DataSource } from 'typeorm';
import { LazyDataSource, RECONNECT_AFTER_MS } from './read-database';

/** A replica that is down: nothing listens on the port (a real DataSource, a refused connection). */
function downReplica(): { lazy: LazyDataSource; attempts: () => number } {
  const dataSource = new DataSource({ type: 'postgres', host: '127.0.0.1', port: 1, username: 'x', database: 'x' });
  let attempts = 0;
  const initialize = dataSource.initialize.bind(dataSource);
  dataSource.initialize = () => {
    attempts++;
    return initialize();
  };
  return { lazy: new LazyDataSource(dataSource), attempts: () => attempts };
}

describe('LazyDataSource (the replica, connected at first use)', () => {
  it('given a down replica, when reads come in a burst, then one connection attempt answers them all', async () => {
    const { lazy, attempts } = downReplica();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => lazy.ready()));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    expect(attempts()).toBe(1);
  });

  it('given a failed attempt, when asked within the back-off, then it fails at once without connecting', async () => {
    const { lazy, attempts } = downReplica();
    const first = await lazy.ready().catch((err: unknown) => err);
    const again = await lazy.ready().catch((err: unknown) => err);
    expect(again).toBe(first);
    expect(attempts()).toBe(1);
  });

  it('given a failed attempt, when asked after the back-off, then it tries to connect again', async () => {
    const { lazy, attempts } = downReplica();
    await lazy.ready().catch(() => undefined);
    await new Promise((done) => setTimeout(done, RECONNECT_AFTER_MS + 50));
    await lazy.ready().catch(() => undefined);
    expect(attempts()).toBe(2);
  });
});
