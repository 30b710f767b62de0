import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DEFAULT_LEASE_RETRY_MS } from '@app/projections';
import { makeScratchTemplate, ScratchTemplate } from '@app/testing';
import {
  CLIENTS,
  during,
  FAULT_AT_MS,
  killMidBatch,
  LEASES,
  LOAD_MS,
  runScenario,
  Scenario,
  sleep,
  waitForLeases,
} from './harness';
import { recovery } from './load';
import { requireDist } from './processes';
import { loadAverage, report, Row, seconds } from './report';

/**
 * The fault suite (`npm run test:faults`, issue 13): six ways the service breaks mid-load, each
 * on a scratch PostgreSQL cluster of its own (a copy of one migrated template), under careful
 * clients that retry with the same Idempotency-Key until acknowledged. Afterwards: nothing
 * acknowledged lost, nothing duplicated, every hash chain verified, the read models equal to a
 * rebuild from the log, one transparency-log leaf per event (harness.ts). One table for all six is
 * printed and written to dist/faults-report.* (report.ts).
 */

const rows: Row[] = [];
let loadAverageAtStart = '';
let template: ScratchTemplate;

beforeAll(async () => {
  loadAverageAtStart = loadAverage();
  requireDist();
  template = await makeScratchTemplate();
}, 120_000);

afterAll(() => {
  template?.remove();
  report(rows, { clients: CLIENTS, loadMs: LOAD_MS, loadAverageAtStart });
});

const run = (s: Scenario) => runScenario(template, s, rows);

describe('fault suite: nothing acknowledged is lost or duplicated', () => {
  it('1. PostgreSQL killed with SIGKILL mid-load, then restarted', async () => {
    await run({
      name: 'postgres-sigkill',
      async fault({ cluster }) {
        await sleep(FAULT_AT_MS);
        const start = Date.now();
        const killed = await cluster.crash();
        await cluster.start();
        const end = Date.now();
        return {
          start,
          end,
          notes:
            `whole server killed (postmaster and its ${killed - 1} children at once), ` +
            `down (kill to accepting) ${seconds(end - start)}`,
        };
      },
    });
  }, 180_000);

  it('2. an API process killed with SIGKILL mid-load, restarted; clients fail over and come back to it', async () => {
    let restarted = '';
    await run({
      name: 'api-sigkill',
      apis: 2,
      async fault({ apis, urls, startApi }) {
        await sleep(FAULT_AT_MS);
        const start = Date.now();
        await apis[0].kill();
        const again = await startApi('api-sigkill api 1 (restarted)');
        restarted = again.url;
        urls[0] = again.url;
        const end = Date.now();
        return { start, end, notes: `restarted in ${seconds(end - start)}` };
      },
      expectAlso(load, fault, row) {
        // The clients spread their messages over both addresses: the restarted API must get some.
        const after = load.attempts.filter(
          (a) => a.url === restarted && a.sentAt >= fault.end && a.status === 201,
        ).length;
        const failover = recovery(load.attempts, fault.start, fault.start);
        row.notes +=
          `, failover (from the kill) ${seconds(failover.firstMs)} / ${seconds(failover.allMs)}` +
          `, ${after} × 201 from the restarted API`;
        expect(after).toBeGreaterThan(0);
      },
    });
  }, 180_000);

  it('3. the projector killed mid-batch: the standby takes every lease, nothing skipped or applied twice', async () => {
    await run({
      name: 'projector-sigkill',
      apiEnv: { PROJECTIONS_IN_PROCESS: 'false' },
      projectors: 2,
      async fault({ cluster, projectors }) {
        await sleep(FAULT_AT_MS);
        const start = await killMidBatch(cluster, projectors[0], 20_000);
        const taken = await waitForLeases(projectors[1], LEASES, 30_000);
        return {
          start,
          end: start,
          recoveryMs: taken - start,
          notes:
            `killed while a batch ran; standby held all ${LEASES} leases after ${seconds(taken - start)} ` +
            `(lease retry interval ${seconds(DEFAULT_LEASE_RETRY_MS)})`,
        };
      },
      // The standby tries every lease retry interval; the dead session's lease is freed once
      // PostgreSQL ends it. The margin only keeps a busy machine from failing the check.
      expectAlso: (_load, _fault, row) =>
        expect(row.recoveryFirstMs).toBeLessThanOrEqual(DEFAULT_LEASE_RETRY_MS + 10_000),
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
        try {
          execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${used + 64}m,mode=0755`, 'tmpfs', mount], {
            stdio: 'pipe',
          });
        } catch (err) {
          throw new Error(
            `the disk-full scenario mounts a tmpfs, which needs root (CAP_SYS_ADMIN): ${(err as Error).message}`,
          );
        }
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
