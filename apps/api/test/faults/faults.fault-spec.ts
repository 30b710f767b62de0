import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { ALL_PROJECTIONS } from '@app/projections';
import { CloneOptions, cloneScratchCluster, makeScratchTemplate, ScratchCluster, ScratchTemplate } from '@app/testing';
import { checkStore, readModelsEqualRebuild, verifyChains, waitForProjections } from './checks';
import { Attempt, LoadResult, recovery, runLoad, statusCounts } from './load';
import { ApiProcess, Child, createWriterKey, requireDist, startApi, startProjector } from './processes';

/**
 * The fault suite (`npm run test:faults`, issue 13): six ways the service breaks mid-load, each
 * on a scratch PostgreSQL cluster of its own (a copy of one migrated template), under careful
 * clients that retry with the same Idempotency-Key until acknowledged. Afterwards: nothing
 * acknowledged lost, nothing duplicated, every hash chain verified, the read models equal to a
 * rebuild from the log. One table for all six is printed and written to dist/faults-report.*.
 */

const CLIENTS = 12;
const LOAD_MS = 7_000;
const FAULT_AT_MS = 2_000;
/** Load goes on at least this long after a fault's end. */
const AFTER_FAULT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 10_000;
const DRAIN_MS = 30_000;
const TENANT = 'faults';
/** One lease per projection, and one for the transparency log's sequencer. */
const LEASES = ALL_PROJECTIONS.length + 1;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

interface Row {
  scenario: string;
  acknowledged: number;
  stored: number;
  lost: number;
  duplicated: number;
  chain: string;
  readModels: string;
  /** From the fault's end to the first acknowledged write after it, and until every client that failed wrote again. */
  recoveryFirstMs: number | null;
  recoveryAllMs: number | null;
  answers: Record<string, number>;
  unanswered: number;
  notes: string;
}

const rows: Row[] = [];

interface Context {
  cluster: ScratchCluster;
  apis: ApiProcess[];
  /** The clients' API addresses (a restarted API is put back in its slot). */
  urls: string[];
  projectors: Child[];
  apiEnv: Record<string, string>;
}

interface Fault {
  start: number;
  end: number;
  notes?: string;
  /** A recovery measured otherwise than by the clients' writes (the projector's standby). */
  recoveryMs?: number;
}

interface Scenario {
  name: string;
  apis?: number;
  apiEnv?: Record<string, string>;
  projectors?: number;
  clone?: () => CloneOptions;
  /** Runs mid-load: breaks something, repairs it, says when. */
  fault: (ctx: Context) => Promise<Fault>;
  /** More that must hold (the fault's own promise), given the load and the fault. */
  expectAlso?: (load: LoadResult, fault: Fault, row: Row) => void;
  cleanup?: () => void;
}

let template: ScratchTemplate;

beforeAll(async () => {
  requireDist();
  template = await makeScratchTemplate();
}, 120_000);

afterAll(() => {
  template?.remove();
  report(rows);
});

async function run(s: Scenario): Promise<void> {
  const cluster = cloneScratchCluster(template, s.clone?.() ?? {});
  const ctx: Context = { cluster, apis: [], urls: [], projectors: [], apiEnv: s.apiEnv ?? {} };
  try {
    await cluster.start();
    const db = { url: cluster.url, runtimeUrl: cluster.runtimeUrl };
    const apiKey = await createWriterKey(db, TENANT);
    ctx.apis = await Promise.all(
      Array.from({ length: s.apis ?? 1 }, (_, i) => startApi(`${s.name} api ${i + 1}`, db, ctx.apiEnv)),
    );
    ctx.urls.push(...ctx.apis.map((a) => a.url));
    for (let i = 0; i < (s.projectors ?? 0); i++) {
      const projector = await startProjector(`${s.name} projector ${i + 1}`, db);
      // The first one takes every lease; the others stand by.
      if (i === 0) await waitForLeases(projector, LEASES, 30_000);
      ctx.projectors.push(projector);
    }

    const loading = runLoad({
      scenario: s.name,
      urls: ctx.urls,
      apiKey,
      clients: CLIENTS,
      durationMs: LOAD_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      drainMs: DRAIN_MS,
    });
    const fault = await s.fault(ctx).catch(async (err: unknown) => {
      loading.abort();
      await loading.done;
      throw err;
    });
    // Writes go on for a while after the fault's end, so that every client's recovery is seen.
    loading.finishAt(fault.end + AFTER_FAULT_MS);
    const load = await loading.done;

    const projections = await waitForProjections(db, 60_000);
    for (const child of [...ctx.apis, ...ctx.projectors]) await child.stop();
    const store = await checkStore(db, s.name, load.acks);
    const chain = await verifyChains(db);
    const differ = await readModelsEqualRebuild(db);
    const { firstMs, allMs } = recovery(load.attempts, fault.start, fault.end);
    const row: Row = {
      scenario: s.name,
      acknowledged: load.acks.length,
      stored: store.stored,
      lost: store.lost.length,
      duplicated: store.duplicated.length,
      chain: chain.ok ? chain.line : `BROKEN: ${chain.line}`,
      readModels: !projections.ok
        ? `behind by ${projections.behind} events`
        : differ.length === 0
          ? 'equal'
          : `DIFFER: ${differ.join(', ')}`,
      recoveryFirstMs: fault.recoveryMs ?? firstMs,
      recoveryAllMs: fault.recoveryMs ?? allMs,
      answers: statusCounts(load.attempts.filter((a) => a.status < 200 || a.status >= 300)),
      unanswered: load.unanswered.length + load.startFailures,
      notes: [
        fault.notes,
        `fault ${seconds(fault.start - load.startedAt)} to ${seconds(fault.end - load.startedAt)} into ` +
          `${seconds(Math.max(...load.attempts.map((a) => a.doneAt)) - load.startedAt)} of load`,
      ]
        .filter(Boolean)
        .join('; '),
    };
    rows.push(row);

    expect({ lost: store.lost.slice(0, 5), duplicated: store.duplicated.slice(0, 5) }).toEqual({
      lost: [],
      duplicated: [],
    });
    expect(row.acknowledged).toBeGreaterThan(0);
    expect(row.unanswered).toBe(0);
    expect(chain).toEqual({ ok: true, line: expect.stringMatching(/^ok \d+ events/) });
    expect(row.readModels).toBe('equal');
    expect(row.recoveryFirstMs).not.toBeNull();
    s.expectAlso?.(load, fault, row);
  } finally {
    for (const child of [...ctx.apis, ...ctx.projectors]) await child.kill();
    await cluster.remove();
    s.cleanup?.();
  }
}

async function waitForLeases(projector: Child, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const taken = projector.lines.filter((l) => /: lease taken$/.test(l.line));
    if (taken.length >= n) return Math.max(...taken.map((l) => l.at));
    if (Date.now() > deadline)
      throw new Error(`${projector.name} took ${taken.length} of ${n} leases:\n${projector.tail()}`);
    if (!projector.alive) throw new Error(`${projector.name} exited:\n${projector.tail()}`);
    await sleep(50);
  }
}

/** Answers to requests sent while the fault lasted. */
const during = (attempts: Attempt[], fault: Fault) =>
  attempts.filter((a) => a.sentAt >= fault.start && a.sentAt < fault.end);

describe('fault suite: nothing acknowledged is lost or duplicated', () => {
  it('1. PostgreSQL killed with SIGKILL mid-load, then restarted', async () => {
    await run({
      name: 'postgres-sigkill',
      async fault({ cluster }) {
        await sleep(FAULT_AT_MS);
        const start = Date.now();
        await cluster.kill();
        await sleep(1_000);
        await cluster.start();
        return { start, end: Date.now(), notes: `down (kill to accepting) ${seconds(Date.now() - start)}` };
      },
    });
  }, 180_000);

  it('2. an API process killed with SIGKILL mid-load, then restarted; clients fail over to the other', async () => {
    await run({
      name: 'api-sigkill',
      apis: 2,
      async fault({ cluster, apis, urls, apiEnv }) {
        await sleep(FAULT_AT_MS);
        const start = Date.now();
        await apis[0].kill();
        const db = { url: cluster.url, runtimeUrl: cluster.runtimeUrl };
        const again = await startApi('api-sigkill api 1 (restarted)', db, apiEnv);
        apis.push(again);
        urls[0] = again.url;
        return { start, end: start, notes: `restarted in ${seconds(Date.now() - start)}` };
      },
    });
  }, 180_000);

  it('3. the projector killed mid-batch: the standby takes every lease, nothing skipped or applied twice', async () => {
    await run({
      name: 'projector-sigkill',
      apiEnv: { PROJECTIONS_IN_PROCESS: 'false' },
      projectors: 2,
      async fault({ projectors }) {
        await sleep(FAULT_AT_MS);
        const start = Date.now();
        await projectors[0].kill();
        const taken = await waitForLeases(projectors[1], LEASES, 30_000);
        return {
          start,
          end: start,
          recoveryMs: taken - start,
          notes: `standby held all ${LEASES} leases after ${seconds(taken - start)}`,
        };
      },
    });
  }, 180_000);

  it("4. the store's batch connection terminated by the server (pg_terminate_backend) mid-load", async () => {
    let terminated = 0;
    await run({
      name: 'batch-terminated',
      async fault({ cluster }) {
        await sleep(FAULT_AT_MS);
        const start = Date.now();
        for (let i = 0; i < 3; i++) {
          if (i > 0) await sleep(700);
          const rows = await cluster.query<{ ok: boolean }>(
            `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
              WHERE application_name = 'conversation-service (batches)'`,
          );
          terminated += rows.filter((r) => r.ok).length;
        }
        return { start, end: Date.now(), notes: `${terminated} batch connections terminated` };
      },
      expectAlso: () => expect(terminated).toBeGreaterThan(0),
    });
  }, 180_000);

  it('5. a lock held past the statement timeout: 503 DATABASE_TIMEOUT promptly, none hangs, recovery', async () => {
    const STATEMENT_TIMEOUT_MS = 1_000;
    const HOLD_MS = 7_000;
    /**
     * An answer later than this during the lock waited for it instead of timing out (a request
     * may queue behind two batches in flight, each cut off after the statement timeout).
     */
    const PROMPT_MS = 5_000;
    await run({
      name: 'lock-timeout',
      apiEnv: { DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) },
      async fault({ cluster }) {
        await sleep(FAULT_AT_MS);
        const locker = new Client({ connectionString: cluster.url });
        await locker.connect();
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE es_streams IN ACCESS EXCLUSIVE MODE');
        const start = Date.now();
        await sleep(HOLD_MS);
        await locker.query('COMMIT');
        await locker.end();
        return { start, end: Date.now(), notes: `es_streams locked ${seconds(HOLD_MS)}` };
      },
      expectAlso(load, fault, row) {
        const lock = during(load.attempts, fault);
        const slowest = Math.max(0, ...lock.map((a) => a.doneAt - a.sentAt));
        row.notes += `, slowest answer during the lock ${seconds(slowest)}`;
        expect(row.answers['503 DATABASE_TIMEOUT']).toBeGreaterThan(0);
        expect(lock.filter((a) => a.status === -1 || a.doneAt - a.sentAt > PROMPT_MS)).toEqual([]);
      },
    });
  }, 180_000);

  it('6. data files out of space (WAL elsewhere): 503 DATABASE_UNAVAILABLE, none damaged, writes resume', async () => {
    const mount = mkdtempSync(join(tmpdir(), 'cs-faults-disk-'));
    const walParent = mkdtempSync(join(tmpdir(), 'cs-faults-wal-'));
    chmodSync(walParent, 0o755);
    let mounted = false;
    const filler = join(mount, 'filler');
    await run({
      name: 'disk-full',
      clone() {
        const used = Number(
          execFileSync('du', ['-sm', '--exclude=pg_wal', join(template.dir, 'pg')])
            .toString()
            .split('\t')[0],
        );
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${used + 64}m,mode=0755`, 'tmpfs', mount]);
        mounted = true;
        mkdirSync(join(mount, 'cluster'));
        return { dir: join(mount, 'cluster'), waldir: join(walParent, 'wal') };
      },
      async fault() {
        await sleep(FAULT_AT_MS);
        const start = Date.now();
        // Filled until the file system refuses (dd fails with ENOSPC).
        try {
          execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M'], { stdio: 'ignore' });
        } catch {
          // full
        }
        const full = statfsSync(mount).bavail;
        await sleep(3_000);
        rmSync(filler, { force: true });
        return {
          start,
          end: Date.now(),
          notes: `data file system full (${full} blocks free) for ${seconds(Date.now() - start)}`,
        };
      },
      expectAlso: (_load, _fault, row) => expect(row.answers['503 DATABASE_UNAVAILABLE']).toBeGreaterThan(0),
      cleanup() {
        if (mounted) execFileSync('umount', [mount]);
        rmSync(mount, { recursive: true, force: true });
        rmSync(walParent, { recursive: true, force: true });
      },
    });
  }, 180_000);
});

/** Prints the one table and writes it to dist/faults-report.json and .md. */
function report(table: Row[]): void {
  const header = [
    'scenario',
    'acknowledged',
    'stored',
    'lost',
    'duplicated',
    'chain verification',
    'read models = rebuild',
    'recovery (first write / all clients)',
    'refused or failed attempts (retried)',
    'notes',
  ];
  const cells = table.map((r) => [
    r.scenario,
    String(r.acknowledged),
    String(r.stored),
    String(r.lost),
    String(r.duplicated),
    r.chain,
    r.readModels,
    `${seconds(r.recoveryFirstMs)} / ${seconds(r.recoveryAllMs)}`,
    Object.entries(r.answers)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none',
    r.notes,
  ]);
  const md = [header, header.map(() => '---'), ...cells].map((c) => `| ${c.join(' | ')} |`).join('\n');
  const dist = join(resolve(__dirname, '../../../..'), 'dist');
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'faults-report.json'), `${JSON.stringify(table, null, 2)}\n`);
  writeFileSync(join(dist, 'faults-report.md'), `${md}\n`);
  process.stdout.write(`\nFault suite (${CLIENTS} clients, ${LOAD_MS / 1000} s of load per scenario):\n${md}\n\n`);
}
