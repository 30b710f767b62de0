import type { AddressInfo } from 'node:net';
import { PostgresEventStore } from '@app/event-store';
import { createApiKey, revokeApiKey } from '@app/access';
import { seedConversation } from './support/audit-fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { uuid } from './support/scenario';
import { auditSnapshots, BIG_ENDS, bigEndTimes, stalledReader } from './support/stalled-export';

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref(),
    ),
  ]);

/**
 * An export already running when its key is revoked or expires is cut off, as event streams are:
 * a leaked auditor key must not keep reading the whole record out (found by the red team of
 * issue 9: the export ran on until its client stopped reading for EXPORT_IDLE_TIMEOUT_MS).
 */
describe('Audit export: the key ends while it runs', () => {
  let t: TestApp;
  let port: number;
  let position: string;
  const openSnapshots = (stalledFor?: string) => auditSnapshots(t.db.pool, stalledFor);
  const until = async (done: () => Promise<boolean>, what: string) => {
    for (const started = Date.now(); !(await done()); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() - started > 10_000) throw new Error(`${what} did not happen within 10 s`);
    }
  };
  const snapshotsBecome = (n: number, what: string) => until(async () => (await openSnapshots()) === n, what);
  const stalled = () => until(async () => (await openSnapshots('500 milliseconds')) === 1, 'the export stalling');
  /** The client reads what is left: the connection was closed with the export cut short. */
  const restOf = (reader: ReturnType<typeof stalledReader>) => within(reader.rest(), 10_000, 'the connection closing');

  beforeAll(async () => {
    // The idle cut-off is far away: only the key's end can stop these exports in time.
    t = await startTestApp({ EXPORT_IDLE_TIMEOUT_MS: '120000' });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    const store = t.app.get(PostgresEventStore);
    for (let i = 0; i < BIG_ENDS; i++) {
      const seeded = await seedConversation(store, {
        conversationId: uuid(0xe00 + i),
        tenantId: 'acme',
        ...bigEndTimes(i),
        content: 'x'.repeat(100_000),
      });
      position = seeded.result.position;
    }
  }, 120_000);
  afterAll(() => t.close());

  it('cuts off a running export when its key is revoked, and ends its snapshot', async () => {
    const { id, key } = await createApiKey(t.dataSource, { role: 'auditor', tenantId: 'acme' });
    const reader = stalledReader(port, `/v1/audit/export?waitFor=${position}`, key);
    expect(await reader.firstBytes).toMatch(/^HTTP\/1\.1 200/);
    await stalled();
    await revokeApiKey(t.dataSource, id, { actor: 'test', reason: 'leaked' });
    // The client still does not read: the server must let go of its own accord.
    await snapshotsBecome(0, 'the export ending its snapshot');
    expect(await restOf(reader)).not.toContain('"type":"manifest"');
  }, 60_000);

  it('cuts off a running export when its key expires', async () => {
    const expiresAt = new Date(Date.now() + 6_000);
    const { key } = await createApiKey(t.dataSource, { role: 'auditor', tenantId: 'acme', expiresAt });
    const reader = stalledReader(port, `/v1/audit/export?waitFor=${position}`, key);
    expect(await reader.firstBytes).toMatch(/^HTTP\/1\.1 200/);
    await stalled();
    await snapshotsBecome(0, 'the export ending its snapshot');
    expect(await restOf(reader)).not.toContain('"type":"manifest"');
  }, 60_000);
});
