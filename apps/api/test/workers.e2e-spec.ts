import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyEntity, revokeApiKey } from '@app/access';
import { ALL_PROJECTIONS, leaseKey } from '@app/projections';
import { createTestDatabase, openTestDataSource, TestDatabase } from '@app/testing';
import { SEQUENCER_NAME } from '@app/transparency';
import { createKeyOn } from './support/keys';
import {
  alive,
  API_MAIN,
  childrenOf,
  eventually,
  getOnNewConnection,
  jsonLines,
  killWithWorkers,
  NodeProcess,
  readOnNewConnection,
  startTwoWorkers,
} from './support/node-process';

interface LogLine {
  pid: number;
  msg?: string;
  keyId?: string;
  req?: { url: string };
  res?: { statusCode: number };
}

const LEASES = [...ALL_PROJECTIONS.map((p) => p.name), SEQUENCER_NAME];

/**
 * WORKERS=2 through `node dist/apps/api/src/main.js`: one port served by two worker processes
 * of one primary, each with its own pools; keys revoked in one place are refused by both; each
 * projection runs in one of them; a worker that dies is replaced; SIGTERM stops them all.
 */
describe('WORKERS=2', () => {
  let db: TestDatabase;
  let primary: NodeProcess;
  let base: string;
  let workers: number[];

  const logLines = () => jsonLines<LogLine>(primary.output);
  const childrenOfPrimary = () => childrenOf(primary);
  /** The backends holding each projection's lease (a session advisory lock) in this database. */
  const leaseHolders = async () => {
    const { rows } = await db.pool.query<{ key: string; pid: number }>(
      `SELECT ((classid::bigint << 32) | objid::bigint)::text AS key, pid FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return LEASES.map((name) => {
      const key = String(leaseKey(name)); // as PostgreSQL shows a bigint key: signed
      return { name, holders: rows.filter((r) => r.key === key).map((r) => r.pid) };
    });
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ primary, base } = await startTwoWorkers(db));
    workers = childrenOfPrimary();
  }, 120_000);
  afterAll(async () => {
    if (primary) await killWithWorkers(primary);
    await db?.drop();
  });

  it('serves one port from two worker processes of the primary', async () => {
    expect(workers).toHaveLength(2);
    const { key } = await createKeyOn(db.url, { role: 'writer', tenantId: 'acme' });
    const statuses = await Promise.all(Array.from({ length: 20 }, () => getOnNewConnection(base, '/v1/me', key)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Each worker logs the requests it served (its lines are written within a second).
    await eventually('both workers served /v1/me', () => {
      const served = new Set(
        logLines()
          .filter((l) => l.req?.url === '/v1/me' && l.res)
          .map((l) => l.pid),
      );
      return workers.every((pid) => served.has(pid));
    });
    // /metrics, whichever worker answers, counts the requests of both (the primary gathers them).
    const admin = (await createKeyOn(db.url, { role: 'admin', tenantId: '*' })).key;
    const counted = async () => {
      const res = await readOnNewConnection(base, '/metrics', admin);
      expect(res.status).toBe(200);
      const lines = res.body.split('\n');
      return lines
        .filter((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes('route="/v1/me"'))
        .filter((l) => l.includes('status="200"'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    };
    await eventually('/metrics counts the 20 requests of both workers', async () => (await counted()) === 20);
    for (let i = 0; i < 4; i++) expect(await counted()).toBe(20);
  });

  it('refuses a key revoked elsewhere in every worker, also where it was cached', async () => {
    const { id, key } = await createKeyOn(db.url, { role: 'writer', tenantId: 'acme' });
    // Used through both workers: each has it cached.
    await eventually('both workers cached the key', async () => {
      expect(await getOnNewConnection(base, '/v1/me', key)).toBe(200);
      const used = new Set(
        logLines()
          .filter((l) => l.keyId === id && l.res?.statusCode === 200)
          .map((l) => l.pid),
      );
      return workers.every((pid) => used.has(pid));
    });
    const keys = await openTestDataSource(db.url, [ApiKeyEntity]);
    try {
      await revokeApiKey(keys, id, { actor: 'test' });
    } finally {
      await keys.destroy();
    }
    // Within a second by the NOTIFY each worker listens to; the wait is generous, the check is not.
    await eventually(
      'every worker refuses the revoked key',
      async () => {
        const statuses = await Promise.all(Array.from({ length: 10 }, () => getOnNewConnection(base, '/v1/me', key)));
        return statuses.every((s) => s === 401);
      },
      10_000,
    );
    const refusedBy = new Set(
      logLines()
        .filter((l) => l.req?.url === '/v1/me' && l.res?.statusCode === 401)
        .map((l) => l.pid),
    );
    await eventually('both workers answered 401', () => {
      logLines()
        .filter((l) => l.req?.url === '/v1/me' && l.res?.statusCode === 401)
        .forEach((l) => refusedBy.add(l.pid));
      return workers.every((pid) => refusedBy.has(pid));
    });
  });

  it('runs each projection in exactly one worker, and another takes it over when that one dies', async () => {
    // Both workers run every projection's runner: the one holding its lease processes, the other stands by.
    const takenBy = (name: string) =>
      logLines()
        .filter((l) => l.msg === `projection ${name}: lease taken`)
        .map((l) => l.pid);
    await eventually('every lease taken', async () => LEASES.every((name) => takenBy(name).length > 0));
    await eventually('every lease held by one session', async () =>
      (await leaseHolders()).every((l) => l.holders.length === 1),
    );
    for (const name of LEASES) expect(takenBy(name)).toHaveLength(1);
    const victim = takenBy(LEASES[0])[0];
    expect(workers).toContain(victim);
    const moved = LEASES.filter((name) => takenBy(name)[0] === victim);
    process.kill(victim, 'SIGKILL');
    await eventually('the victim is gone', () => !alive(victim));
    await eventually(
      "the victim's leases taken by another worker",
      () => moved.every((name) => takenBy(name).length === 2),
      30_000,
    );
    for (const name of moved) expect(takenBy(name)[1]).not.toBe(victim);
    for (const name of LEASES.filter((n) => !moved.includes(n))) expect(takenBy(name)).toHaveLength(1);
    expect((await leaseHolders()).every((l) => l.holders.length === 1)).toBe(true);
    workers = [victim, ...workers.filter((pid) => pid !== victim)];
  }, 60_000);

  it('replaces a worker that dies, and serves on', async () => {
    await eventually('a replacement listens', () => childrenOfPrimary().length === 2, 60_000);
    expect(primary.output).toMatch(new RegExp(`worker ${workers[0]} exited with signal SIGKILL; starting another`));
    const now = childrenOfPrimary();
    expect(now).toContain(workers[1]);
    expect(now).not.toContain(workers[0]);
    const statuses = await Promise.all(Array.from({ length: 10 }, () => getOnNewConnection(base, '/health')));
    expect(statuses.every((s) => s === 200)).toBe(true);
    workers = now;
  }, 70_000);

  it('stops every worker gracefully on SIGTERM to the primary', async () => {
    expect(await primary.stop('SIGTERM')).toBe(0);
    for (const pid of workers) {
      expect(alive(pid)).toBe(false);
      expect(primary.output).toMatch(new RegExp(`\\[conversation-service worker ${pid}\\] SIGTERM: closing`));
    }
  }, 60_000);
});

/**
 * WORKERS=2 with no DATABASE_URL: the primary starts the embedded server once (migrations and the
 * signing key before forking), the workers only connect, and the server stops with the primary.
 */
describe('WORKERS=2 on the embedded server', () => {
  it('starts it once in the primary; workers connect least-privileged, sign; it stops with the primary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-workers-embedded-'));
    chmodSync(dir, 0o755);
    const env: Record<string, string> = { WORKERS: '2', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const primary = new NodeProcess(API_MAIN, { ...env, DATA_DIR: join(dir, 'data'), DATABASE_URL: '' });
    try {
      const base = (
        await primary.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+) \(OpenAPI at \/docs; 2 workers\)/)
      )[1];
      expect(primary.output.match(/embedded PostgreSQL listening/g)).toHaveLength(1);
      expect(primary.output.match(/signing key: /g)).toHaveLength(1);
      const server = JSON.parse(readFileSync(join(dir, 'data/server.json'), 'utf8')) as { pid: number };
      expect(server.pid).toBe(primary.pid);
      const health = JSON.parse((await readOnNewConnection(base, '/health')).body);
      // Least-privileged, and the embedded default's key signs: each worker got both from the primary.
      expect(health).toMatchObject({
        database: { status: 'up', privileges: 'least' },
        transparencyLog: { signer: 'ok' },
      });
      const postmaster = Number(readFileSync(join(dir, 'data/pg/postmaster.pid'), 'utf8').split('\n')[0]);
      expect(alive(postmaster)).toBe(true);
      expect(await primary.stop('SIGTERM')).toBe(0);
      await eventually('the embedded server stopped', () => !alive(postmaster), 10_000);
      expect(existsSync(join(dir, 'data/server.json'))).toBe(false);
    } finally {
      await primary.stop('SIGKILL');
    }
  }, 180_000);
});
