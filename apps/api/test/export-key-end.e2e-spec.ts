import { connect, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PostgresEventStore } from '@app/event-store';
import { createApiKey, revokeApiKey } from '../src/auth/api-keys';
import { seedConversation } from './support/audit-fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { uuid } from './support/scenario';

/**
 * 100 ends of about 500 kB each (50 MB): more than loopback socket buffers can hold even once the
 * kernel has grown them (here tcp_rmem allows 32 MB, tcp_wmem 4 MB; 8 MB often went through
 * whole), so the export must wait on its client.
 */
const BIG_ENDS = 100;

/** A GET on a raw socket that reads the first bytes of the answer, then stops reading. */
function stalledReader(port: number, path: string, key: string): { socket: Socket; firstBytes: Promise<string>; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\n\r\n`);
  const firstBytes = new Promise<string>((resolve) =>
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      resolve(chunk.toString('latin1'));
    }),
  );
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  return { socket, firstBytes, closed };
}

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref())]);

/**
 * An export already running when its key is revoked or expires is cut off, as event streams are:
 * a leaked auditor key must not keep reading the whole record out (found by the red team of
 * issue 9: the export ran on until its client stopped reading for EXPORT_IDLE_TIMEOUT_MS).
 */
describe('Audit export: the key ends while it runs', () => {
  let t: TestApp;
  let port: number;
  let position: string;
  /**
   * The export's snapshots: open transactions of the audit pool's connections. `stalledFor`: only
   * those waiting on the client (idle in transaction) for at least that long, not merely between
   * two of the export's reads.
   */
  const openSnapshots = async (stalledFor?: string) =>
    (
      await t.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'conversation-service (audit)' AND xact_start IS NOT NULL
            AND ($1::interval IS NULL OR (state = 'idle in transaction' AND state_change < now() - $1::interval))`,
        [stalledFor ?? null],
      )
    ).rows[0].n;
  const until = async (done: () => Promise<boolean>, what: string) => {
    for (const started = Date.now(); !(await done()); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() - started > 10_000) throw new Error(`${what} did not happen within 10 s`);
    }
  };
  const snapshotsBecome = (n: number, what: string) => until(async () => (await openSnapshots()) === n, what);
  const stalled = () => until(async () => (await openSnapshots('500 milliseconds')) === 1, 'the export stalling');
  /** The client reads what is left: the connection was closed with the export cut short. */
  const restOf = async (reader: ReturnType<typeof stalledReader>) => {
    let rest = '';
    reader.socket.on('data', (chunk: Buffer) => (rest += chunk.toString('latin1')));
    reader.socket.resume();
    await within(reader.closed, 10_000, 'the connection closing');
    return rest;
  };

  beforeAll(async () => {
    // The idle cut-off is far away: only the key's end can stop these exports in time.
    t = await startTestApp({ EXPORT_IDLE_TIMEOUT_MS: '120000' });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    const store = t.app.get(PostgresEventStore);
    for (let i = 0; i < BIG_ENDS; i++) {
      const startedAt = Date.UTC(2025, 4, 1, 8) + i * 2 * 3_600_000;
      const seeded = await seedConversation(store, {
        conversationId: uuid(0xe00 + i),
        tenantId: 'acme',
        startedAt: new Date(startedAt).toISOString(),
        endedAt: new Date(startedAt + 3_600_000).toISOString(),
        content: 'x'.repeat(100_000),
      });
      position = seeded.result.position;
    }
  }, 120_000);
  afterAll(() => t.close());

  it('cuts off a running export when its key is revoked, and ends its snapshot', async () => {
    const { id, key } = await createApiKey(t.db.pool, { role: 'auditor', tenantId: 'acme' });
    const reader = stalledReader(port, `/v1/audit/export?waitFor=${position}`, key);
    expect(await reader.firstBytes).toMatch(/^HTTP\/1\.1 200/);
    await stalled();
    await revokeApiKey(t.db.pool, id, { actor: 'test', reason: 'leaked' });
    // The client still does not read: the server must let go of its own accord.
    await snapshotsBecome(0, 'the export ending its snapshot');
    expect(await restOf(reader)).not.toContain('"type":"manifest"');
  }, 60_000);

  it('cuts off a running export when its key expires', async () => {
    const { key } = await createApiKey(t.db.pool, { role: 'auditor', tenantId: 'acme', expiresAt: new Date(Date.now() + 6_000) });
    const reader = stalledReader(port, `/v1/audit/export?waitFor=${position}`, key);
    expect(await reader.firstBytes).toMatch(/^HTTP\/1\.1 200/);
    await stalled();
    await snapshotsBecome(0, 'the export ending its snapshot');
    expect(await restOf(reader)).not.toContain('"type":"manifest"');
  }, 60_000);
});
