import { chmodSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  childrenOf,
  cloneScratchCluster,
  isRunning,
  makeScratchTemplate,
  ScratchCluster,
  ScratchTemplate,
} from './scratch-cluster';

async function one<T>(url: string, sql: string): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0] as T;
  } finally {
    await client.end();
  }
}

describe('scratch clusters (embedded PostgreSQL, one migrated template copied per test)', () => {
  let template: ScratchTemplate;
  const clusters: ScratchCluster[] = [];
  const extra: string[] = [];

  beforeAll(async () => {
    template = await makeScratchTemplate();
  }, 120_000);

  afterAll(async () => {
    for (const cluster of clusters) await cluster.remove();
    for (const dir of extra) rmSync(dir, { recursive: true, force: true });
    template?.remove();
  });

  it('a clone is migrated, has the runtime login (conversations_app only), survives a SIGKILL', async () => {
    const cluster = cloneScratchCluster(template, { conf: ['max_wal_senders = 4'] });
    clusters.push(cluster);
    await cluster.start();
    expect(await one<{ n: string }>(cluster.runtimeUrl, 'SELECT count(*) AS n FROM es_events')).toEqual({ n: '0' });
    const role = await one<{ super: boolean; app: boolean }>(
      cluster.runtimeUrl,
      `SELECT rolsuper AS super, pg_has_role(current_user, 'conversations_app', 'member') AS app
         FROM pg_roles WHERE rolname = current_user`,
    );
    expect(role).toEqual({ super: false, app: true });
    expect(await one(cluster.url, 'SHOW max_wal_senders')).toEqual({ max_wal_senders: '4' });

    await cluster.query('CREATE TABLE scratch_probe (n int)');
    await cluster.query('INSERT INTO scratch_probe VALUES (1)');
    const port = cluster.port;
    await cluster.kill();
    expect(cluster.running).toBe(false);
    await cluster.start();
    expect(cluster.port).toBe(port);
    expect(await cluster.query('SELECT n FROM scratch_probe')).toEqual([{ n: 1 }]);
  }, 120_000);

  it('a crash kills the postmaster and every backend at once; the server starts again after it', async () => {
    const cluster = cloneScratchCluster(template);
    clusters.push(cluster);
    await cluster.start();
    await cluster.query('CREATE TABLE crash_probe (n int)');
    await cluster.query('INSERT INTO crash_probe VALUES (1)');
    // A backend busy with a statement (after a postmaster-only kill it would go on running it).
    const busy = new Client({ connectionString: cluster.url });
    busy.on('error', () => undefined);
    await busy.connect();
    const { rows } = await busy.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const sleeping = busy.query('SELECT pg_sleep(60)').catch((err: Error) => err);
    const postmaster = cluster.pid!;
    const children = childrenOf(postmaster);
    expect(children).toContain(rows[0].pid);
    expect(children.length).toBeGreaterThan(3); // the backend, checkpointer, WAL writer, …

    await cluster.crash();
    expect(cluster.running).toBe(false);
    expect([postmaster, ...children].filter(isRunning)).toEqual([]);
    expect(await sleeping).toBeInstanceOf(Error);
    await busy.end().catch(() => undefined);

    const port = cluster.port;
    await cluster.start();
    expect(cluster.port).toBe(port);
    expect(await cluster.query('SELECT n FROM crash_probe')).toEqual([{ n: 1 }]);
  }, 120_000);

  it('clones are independent, may keep their WAL elsewhere, and accept replication connections', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'cs-scratch-wal-'));
    chmodSync(parent, 0o755);
    extra.push(parent);
    const waldir = join(parent, 'wal');
    const a = cloneScratchCluster(template, { waldir });
    const b = cloneScratchCluster(template);
    clusters.push(a, b);
    expect(readlinkSync(join(a.pgdata, 'pg_wal'))).toBe(waldir);
    await a.start();
    await b.start({ settings: ['work_mem=8MB'] });
    expect(a.port).not.toBe(b.port);
    await a.query('CREATE TABLE only_in_a (n int)');
    expect(await b.query(`SELECT to_regclass('only_in_a') AS t`)).toEqual([{ t: null }]);
    expect(await one(b.url, 'SHOW work_mem')).toEqual({ work_mem: '8MB' });

    // A walsender connection (what a standby opens) is let in from 127.0.0.1.
    const replication = new Client({ connectionString: a.url, replication: 'database' } as never);
    await replication.connect();
    const identified = await replication.query('IDENTIFY_SYSTEM');
    expect(identified.rows[0]).toHaveProperty('systemid');
    await replication.end();
    await a.restart();
    expect(await a.query(`SELECT to_regclass('only_in_a') IS NOT NULL AS t`)).toEqual([{ t: true }]);
  }, 120_000);
});
