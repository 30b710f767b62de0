import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Pool } from 'pg';
import { projectionLags } from '@app/projections';
import { SEQUENCER_NAME } from '@app/transparency';
import type { ExportCounts, ReaderMessage } from './export-reader';
import { MESSAGE_BODY } from './message-load';
import { DIST_APPS, runNodeScript } from './node-process';
import { RunningService, startConversation } from './service';
import { median, percentile } from '../stats';

export interface MixedPlan {
  /** Concurrent connections of the mixed load (each sends its next request when answered). */
  connections: number;
  /** Conversations the requests are spread over, at random. */
  conversations: number;
  /** Pairs of legs, one alone and one with the export, in alternating order. */
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  /** The export's reader: 0 reads as fast as the service sends, else at most this many kB/s. */
  exportKbps: number;
}

/**
 * A mixed load (90 % `GET /v1/conversations/:id`, 10 % `POST /v1/conversations/:id/messages`)
 * alone and while an audit export (`GET /v1/audit/export`, every end of the seeded log) is read
 * at the same time: p99 of the writes and of the reads in each (ms), the writes' p99 with/without
 * (`ratio`), the answers per second of the load in each, and the export's rate (NDJSON lines of
 * ends per second, and MB/s) while the load runs. Medians of the rounds; `ratios` each round's.
 */
export interface MixedResult {
  writeP99Ms: number;
  writeP99WithExportMs: number;
  ratio: number;
  readP99Ms: number;
  readP99WithExportMs: number;
  rps: number;
  rpsWithExport: number;
  exportRowsPerS: number;
  exportMBPerS: number;
  ratios: number[];
  /**
   * Answers other than 2xx and errors over the measured legs, alone and with the export: they are
   * left out of the latencies above, so a figure with failures is no figure (the table says so).
   */
  failed: number;
  failedWithExport: number;
}

/** One leg's answers. */
interface Leg {
  readP99Ms: number;
  writeP99Ms: number;
  /** 2xx answers per second, reads and writes. */
  rps: number;
  failed: number;
  statuses: Record<string, number>;
  exportRowsPerS?: number;
  exportMBPerS?: number;
}

/** A read for every nine… one write in ten: the position of the write in each connection's cycle. */
const CYCLE = 10;

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The value below which 99 % of the samples lie (nearest rank). */
function p99(samples: number[]): number {
  return percentile(Float64Array.from(samples).sort(), 0.99);
}

/** A key made by the CLI (`keys:create`), as an operator would. */
export async function createKey(databaseUrl: string, role: string, tenant: string): Promise<string> {
  const cli = join(DIST_APPS, 'cli/src/main.js');
  const args = ['keys:create', '--role', role, '--tenant', tenant, '--label', `bench-${role}`, '--actor', 'bench'];
  const out = await runNodeScript(cli, args, { DATABASE_URL: databaseUrl, MIGRATION_DATABASE_URL: '' });
  const key = out.trim().split('\n').at(-1) ?? '';
  if (!key.startsWith('csk_')) throw new Error(`keys:create printed no key:\n${out}`);
  return key;
}

/** `n` new conversations through the service, 32 at a time. */
export async function newConversations(service: RunningService, n: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < n) {
    const batch = Math.min(32, n - ids.length);
    ids.push(
      ...(await Promise.all(
        Array.from({ length: batch }, () => startConversation(service.target.url, service.target.headers)),
      )),
    );
  }
  return ids;
}

/**
 * The mixed load with autocannon for `seconds`: each connection cycles through nine reads and one
 * write (its write at its own place in the cycle, so the writes are spread in time), each request
 * on a conversation drawn at random. Every answer's latency is kept by kind (autocannon's own
 * histogram mixes them): the request a client has just been answered is still its current one
 * when autocannon emits `response`.
 */
export async function mixedLoad(
  service: RunningService,
  ids: string[],
  connections: number,
  seconds: number,
): Promise<Omit<Leg, 'exportRowsPerS' | 'exportMBPerS'> & { reads: number; writes: number }> {
  const { url, headers } = service.target;
  const pick = () => ids[Math.floor(Math.random() * ids.length)];
  const read: autocannon.Request = {
    method: 'GET',
    headers,
    setupRequest: (req) => ({ ...req, path: `/v1/conversations/${pick()}` }),
  };
  const postHeaders = { ...headers, 'content-type': 'application/json' };
  const write: autocannon.Request = {
    method: 'POST',
    headers: postHeaders,
    body: MESSAGE_BODY,
    setupRequest: (req) => ({ ...req, path: `/v1/conversations/${pick()}/messages` }),
  };
  const latencies = { GET: [] as number[], POST: [] as number[] };
  let client = 0;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        setupClient: (c) => {
          const at = client++ % CYCLE;
          c.setRequests(Array.from({ length: CYCLE }, (_, i) => (i === at ? write : read)));
        },
      },
      (err, result) => (err ? fail(err) : done(result)),
    );
    instance.on('response', (c, status, _bytes, ms) => {
      if (status < 200 || status > 299) return;
      const method = (c as unknown as { requestIterator: { currentRequest: { method: 'GET' | 'POST' } } })
        .requestIterator.currentRequest.method;
      latencies[method].push(ms);
    });
  });
  return {
    readP99Ms: round2(p99(latencies.GET)),
    writeP99Ms: round2(p99(latencies.POST)),
    rps: Math.round(result['2xx'] / result.duration),
    reads: latencies.GET.length,
    writes: latencies.POST.length,
    failed: result.non2xx + result.errors,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, s.count ?? 0])),
  };
}

/** The export's reader process, started and reading (its first bytes arrived). */
interface ExportReader {
  counts(): Promise<ExportCounts>;
  stop(): Promise<ExportCounts>;
}

export async function startExportReader(url: string, key: string, kbps: number): Promise<ExportReader> {
  const child: ChildProcess = fork(join(__dirname, 'export-reader.js'), [], {
    env: { ...process.env, EXPORT_URL: `${url}/v1/audit/export`, EXPORT_KEY: key, EXPORT_KBPS: String(kbps) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // The reader's next message of `type`, after sending it `what` (if anything).
  const next = (type: ReaderMessage['type'], what?: 'mark' | 'stop') =>
    new Promise<ReaderMessage>((done, fail) => {
      const onMessage = (m: ReaderMessage) => {
        if (m.type !== type) return;
        settle();
        done(m);
      };
      const onExit = () => (settle(), fail(new Error(`the export reader exited (waiting for ${type})`)));
      const timer = setTimeout(
        () => (settle(), fail(new Error(`the export reader did not answer (${type})`))),
        120_000,
      );
      const settle = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (what) child.send(what, (err) => err && (settle(), fail(err)));
    });
  const ask = async (what: 'mark' | 'stop'): Promise<ExportCounts> => {
    const { type: _type, ...counts } = (await next('counts', what)) as Extract<ReaderMessage, { type: 'counts' }>;
    return counts;
  };
  try {
    await next('started');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let stopped: Promise<ExportCounts> | null = null;
  return {
    counts: () => ask('mark'),
    stop: () =>
      (stopped ??= (async () => {
        try {
          return await ask('stop');
        } finally {
          await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
      })()),
  };
}

/**
 * Waits until the transparency log's sequencer (which the service runs, and the service's
 * caughtUp leaves out) has made every event a leaf: on a freshly seeded log it has a million to
 * go, and would be measured with the load. Says how fast it caught up, when it had far to go.
 */
async function sequencerAtHead(databaseUrl: string, progress: (line: string) => void): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  const behind = async () => (await projectionLags(pool, [SEQUENCER_NAME]))[0].lagEvents;
  try {
    const started = Date.now();
    const first = await behind();
    let said = started;
    for (let left = first; left > 0; left = await behind()) {
      if (Date.now() - said > 10_000) {
        progress(`waiting for the transparency log's sequencer: ${left} events behind`);
        said = Date.now();
      }
      await new Promise((done) => setTimeout(done, 250));
    }
    const seconds = (Date.now() - started) / 1000;
    if (first >= 10_000)
      progress(
        `the sequencer caught up ${first} events in ${seconds.toFixed(1)} s (${Math.round(first / seconds)} leaves/s)`,
      );
  } finally {
    await pool.end();
  }
}

/**
 * Legs of the mixed load alone and with the export, alternating which goes first in each round
 * after a warm-up; after every leg the service's projections catch up, so no leg pays for the one
 * before. The export's reader starts before its leg and reads on until the leg ends (restarting
 * the export if it ends first); its rate is taken over the leg alone.
 */
export async function runMixedBenchmark(
  databaseUrl: string,
  service: RunningService,
  plan: MixedPlan,
  progress: (line: string) => void,
): Promise<MixedResult> {
  await sequencerAtHead(databaseUrl, progress);
  const auditorKey = await createKey(databaseUrl, 'auditor', '*');
  const ids = await newConversations(service, plan.conversations);
  const leg = async (withExport: boolean, seconds: number): Promise<Leg> => {
    const reader = withExport ? await startExportReader(service.target.url, auditorKey, plan.exportKbps) : null;
    try {
      const before = await reader?.counts();
      const load = await mixedLoad(service, ids, plan.connections, seconds);
      const after = await reader?.stop();
      if (after && after.completed > (before?.completed ?? 0))
        progress(`note: the export ended during the leg and was read again (${after.completed} exports read)`);
      if (after && after.failed > 0)
        progress(`warning: ${after.failed} exports failed (answers ${JSON.stringify(after.statuses)})`);
      const rates =
        before && after
          ? (() => {
              const s = (after.atMs - before.atMs) / 1000;
              return {
                exportRowsPerS: Math.round((after.rows - before.rows) / s),
                exportMBPerS: round2((after.bytes - before.bytes) / s / 1e6),
              };
            })()
          : {};
      if (load.failed > 0)
        progress(`warning: mixed: ${load.failed} requests failed (answers ${JSON.stringify(load.statuses)})`);
      return { ...load, ...rates };
    } finally {
      await reader?.stop().catch(() => undefined);
      await service.caughtUp();
    }
  };
  await leg(false, plan.warmupSeconds);
  await leg(true, plan.warmupSeconds);
  const alone: Leg[] = [];
  const withExport: Leg[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    for (const exporting of round % 2 ? [true, false] : [false, true]) {
      const r = await leg(exporting, plan.seconds);
      (exporting ? withExport : alone).push(r);
      progress(
        `mixed round ${round + 1}/${plan.rounds} ${exporting ? 'with the export' : 'alone'}: ${r.rps} answers/s, ` +
          `p99 write ${r.writeP99Ms} ms, read ${r.readP99Ms} ms` +
          (exporting ? `; export ${r.exportRowsPerS} rows/s, ${r.exportMBPerS} MB/s` : ''),
      );
    }
  }
  const m = (legs: Leg[], f: (l: Leg) => number) => round2(median(legs.map(f)));
  const writeP99Ms = m(alone, (l) => l.writeP99Ms);
  const writeP99WithExportMs = m(withExport, (l) => l.writeP99Ms);
  return {
    writeP99Ms,
    writeP99WithExportMs,
    ratio: round2(writeP99WithExportMs / writeP99Ms),
    readP99Ms: m(alone, (l) => l.readP99Ms),
    readP99WithExportMs: m(withExport, (l) => l.readP99Ms),
    rps: Math.round(m(alone, (l) => l.rps)),
    rpsWithExport: Math.round(m(withExport, (l) => l.rps)),
    exportRowsPerS: Math.round(m(withExport, (l) => l.exportRowsPerS ?? 0)),
    exportMBPerS: m(withExport, (l) => l.exportMBPerS ?? 0),
    ratios: alone.map((a, i) => round2(withExport[i].writeP99Ms / a.writeP99Ms)),
    failed: alone.reduce((n, l) => n + l.failed, 0),
    failedWithExport: withExport.reduce((n, l) => n + l.failed, 0),
  };
}
