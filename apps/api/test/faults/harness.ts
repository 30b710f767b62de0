import { Client } from 'pg';
import { ALL_PROJECTIONS } from '@app/projections';
import { CloneOptions, cloneScratchCluster, ScratchCluster, ScratchTemplate } from '@app/testing';
import {
  answersLostAfterCommit,
  checkStore,
  checkTlogLeaves,
  readModelsEqualRebuild,
  verifyChains,
  waitForProjections,
} from './checks';
import { Attempt, LoadResult, recovery, runLoad, statusCounts, withinTime } from './load';
import { ApiProcess, Child, createWriterKey, startApi, startProjector } from './processes';
import { Row, seconds } from './report';

/**
 * How the fault suite runs one scenario (faults.fault-spec.ts holds the six): a clone of the
 * template cluster, the service's processes, the careful clients' load, the fault mid-load, then
 * the checks of every scenario (nothing lost or duplicated, chains, read models, transparency
 * log) and the scenario's own.
 */

export const CLIENTS = 12;
export const LOAD_MS = 7_000;
export const FAULT_AT_MS = 2_000;
/** Load goes on at least this long after a fault's end. */
const AFTER_FAULT_MS = 2_000;
/** A fault (break and repair) taking longer fails its scenario: the load is aborted, everything cleaned up. */
const FAULT_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
const DRAIN_MS = 30_000;
const TENANT = 'faults';
/** One lease per projection, and one for the transparency log's sequencer. */
export const LEASES = ALL_PROJECTIONS.length + 1;

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
export interface Context {
  cluster: ScratchCluster;
  apis: ApiProcess[];
  /** The clients' API addresses (a restarted API is put back in its slot). */
  urls: string[];
  projectors: Child[];
  /** Starts another API process of the scenario; it is killed at the scenario's end even if the fault timed out. */
  startApi(name: string): Promise<ApiProcess>;
}

export interface Fault {
  start: number;
  end: number;
  notes?: string;
  /** A recovery measured otherwise than by the clients' writes (the projector's standby). */
  recoveryMs?: number;
}

export interface Scenario {
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

/**
 * Runs scenario `s` on a clone of `template`; its row goes into `rows` (before the checks, so a
 * failing scenario is in the table too).
 */
export async function runScenario(template: ScratchTemplate, s: Scenario, rows: Row[]): Promise<void> {
  let ended = false;
  let cluster: ScratchCluster | undefined;
  const apis: ApiProcess[] = [];
  const projectors: Child[] = [];
  try {
    cluster = cloneScratchCluster(template, s.clone?.() ?? {});
    await cluster.start();
    const db = { url: cluster.url, runtimeUrl: cluster.runtimeUrl };
    const ctx: Context = {
      cluster,
      apis,
      urls: [],
      projectors,
      async startApi(name) {
        const api = await startApi(name, db, s.apiEnv ?? {});
        apis.push(api);
        if (ended) await api.kill();
        return api;
      },
    };
    const apiKey = await createWriterKey(db, TENANT);
    await Promise.all(Array.from({ length: s.apis ?? 1 }, (_, i) => ctx.startApi(`${s.name} api ${i + 1}`)));
    ctx.urls.push(...ctx.apis.map((a) => a.url));
    for (let i = 0; i < (s.projectors ?? 0); i++) {
      const projector = await startProjector(`${s.name} projector ${i + 1}`, db);
      ctx.projectors.push(projector);
      // The first one takes every lease; the others stand by.
      if (i === 0) await waitForLeases(projector, LEASES, 30_000);
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
    // A fault that hangs must not leave the clients running: they are aborted, the scenario fails.
    const fault = await withinTime(s.fault(ctx), FAULT_TIMEOUT_MS, `${s.name}'s fault`).catch(async (err: unknown) => {
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
    const tlog = await checkTlogLeaves(db);
    const answerLost = await answersLostAfterCommit(db, s.name, load.acks, load.attempts);
    const { firstMs, allMs } = recovery(load.attempts, fault.start, fault.end);
    const row: Row = {
      scenario: s.name,
      acknowledged: load.acks.length,
      stored: store.stored,
      lost: store.lost.length,
      duplicated: store.duplicated.length,
      answerLost,
      chain: chain.ok ? chain.line : `BROKEN: ${chain.line}`,
      readModels: !projections.ok
        ? `behind by ${projections.behind} events`
        : differ.length === 0
          ? 'equal'
          : `DIFFER: ${differ.join(', ')}`,
      tlog: tlog.ok
        ? 'ok'
        : `bad (${tlog.events} events, ${tlog.leaves} leaves, ${tlog.distinct} indexes ${tlog.min}..${tlog.max}, ` +
          `${tlog.notOnce} events without exactly one leaf, ${tlog.miscounted} ranges miscounted)`,
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
    expect(row.tlog).toBe('ok');
    expect(row.recoveryFirstMs).not.toBeNull();
    s.expectAlso?.(load, fault, row);
  } finally {
    ended = true;
    for (const child of [...apis, ...projectors]) await child.kill();
    await cluster?.remove();
    s.cleanup?.();
  }
}

export async function waitForLeases(projector: Child, n: number, timeoutMs: number): Promise<number> {
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

/**
 * Waits until the projector holding the leases runs a batch (one of its lease connections, those
 * holding an advisory lock, runs a statement), then kills it with SIGKILL at once. Returns when it
 * was killed.
 */
export async function killMidBatch(cluster: ScratchCluster, projector: Child, timeoutMs: number): Promise<number> {
  const watcher = new Client({ connectionString: cluster.url });
  await watcher.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rowCount } = await watcher.query(
        `SELECT 1 FROM pg_stat_activity a
          WHERE a.application_name = 'conversation-projector' AND a.state = 'active'
            AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)`,
      );
      if (rowCount) {
        const at = Date.now();
        await projector.kill();
        return at;
      }
      if (Date.now() > deadline) throw new Error(`no projector batch seen running in ${seconds(timeoutMs)}`);
      await sleep(2);
    }
  } finally {
    await watcher.end();
  }
}

/** Answers to requests sent while the fault lasted. */
export const during = (attempts: Attempt[], fault: Fault) =>
  attempts.filter((a) => a.sentAt >= fault.start && a.sentAt < fault.end);
