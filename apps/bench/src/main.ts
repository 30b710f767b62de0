import { openContenders } from './contenders';
import { tuneRuntime } from '@app/platform';
import { benchContentKeyFile } from './content-key';
import { benchServer, provisionDatabase, settleDatabase } from './database';
import { AuditFigure, runAuditBenchmark } from './audit-bench';
import { runHttpBenchmark } from './http/http-bench';
import { runMixedBenchmark } from './http/mixed-bench';
import { RunningService, startService } from './http/service';
import { runLongStreamBenchmark } from './long-stream/long-stream-bench';
import { runSteadyBenchmark } from './http/steady-bench';
import {
  appendTable,
  auditTable,
  encryptionTable,
  BenchSummary,
  httpTable,
  longStreamTable,
  mixedTable,
  steadyTable,
  summaryLine,
  tlogTable,
} from './report';
import { RunPlan, runAppendBenchmark } from './runner';
import { runTlogBenchmark } from './tlog/tlog-bench';
import { runWorkersBenchmark, workersTable } from './http/workers-bench';
import { runEncryptionBenchmark } from './encryption/encryption-bench';

/**
 * `npm run bench [-- <figure>…]`: the figures named (all without a name), on one database in
 * one run. Progress goes to stderr; the tables and, as the very last line, one JSON object with
 * a key for each figure go to stdout.
 */
const FIGURES = [
  'auditQuery',
  'projectionRebuild',
  'http',
  'mixed',
  'longStream',
  'steady',
  'workers',
  'append',
  'tlog',
  'encryption',
] as const;
type Figure = (typeof FIGURES)[number];

const progress = (line: string) => process.stderr.write(`${line}\n`);

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
};

function appendPlan(): RunPlan {
  return {
    concurrencies: [1, 16, 64],
    rounds: num('BENCH_ROUNDS', 3),
    seconds: num('BENCH_SECONDS', 3),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', 1),
  };
}

function figuresOf(args: string[]): Figure[] {
  const unknown = args.filter((a) => !(FIGURES as readonly string[]).includes(a));
  if (unknown.length) {
    process.stderr.write(`unknown figure ${unknown.join(', ')}: the figures are ${FIGURES.join(', ')}\n`);
    process.exit(2);
  }
  return args.length ? FIGURES.filter((f) => args.includes(f)) : [...FIGURES];
}

/** The figures measured through the running service, which they share. */
async function serviceFigures(url: string, figures: Figure[], summary: BenchSummary): Promise<void> {
  const service: RunningService = await startService(url, progress);
  try {
    await service.caughtUp();
    if (figures.includes('http')) {
      summary.http = await runHttpBenchmark(
        url,
        service,
        {
          connections: 64,
          rounds: num('BENCH_ROUNDS', 3),
          seconds: num('BENCH_HTTP_SECONDS', 5),
          warmupSeconds: num('BENCH_HTTP_WARMUP_SECONDS', 2),
        },
        progress,
      );
      process.stdout.write(`${httpTable(summary.http)}\n`);
    }
    if (figures.includes('mixed')) {
      const plan = {
        connections: 64,
        conversations: num('BENCH_MIXED_CONVERSATIONS', 1000),
        rounds: num('BENCH_ROUNDS', 3),
        seconds: num('BENCH_MIXED_SECONDS', 10),
        warmupSeconds: num('BENCH_HTTP_WARMUP_SECONDS', 2),
        exportKbps: Number(process.env.BENCH_MIXED_EXPORT_KBPS ?? 0), // 0 (as fast as it comes) is allowed: not num()
      };
      summary.mixed = await runMixedBenchmark(url, service, plan, progress);
      process.stdout.write(`${mixedTable(summary.mixed, plan)}\n`);
    }
    if (figures.includes('longStream')) {
      const events = { long: num('BENCH_LONG_EVENTS', 10_000), short: 10 };
      summary.longStream = await runLongStreamBenchmark(
        url,
        service,
        {
          longEvents: events.long,
          shortEvents: events.short,
          appends: num('BENCH_LONG_APPENDS', 50),
        },
        progress,
      );
      process.stdout.write(`${longStreamTable(summary.longStream, events)}\n`);
    }
    if (figures.includes('steady')) {
      const plan = {
        rate: num('BENCH_STEADY_RATE', 20),
        seconds: num('BENCH_STEADY_SECONDS', 10),
        rounds: num('BENCH_STEADY_ROUNDS', 2),
        conversations: 8,
      };
      summary.steady = await runSteadyBenchmark(url, service, plan, progress);
      process.stdout.write(`${steadyTable(summary.steady)}\n`);
    }
  } finally {
    await service.stop();
  }
}

async function main(): Promise<void> {
  tuneRuntime();
  const figures = figuresOf(process.argv.slice(2));
  progress(`content master key: ${benchContentKeyFile()}`);
  // The tlog figure makes databases of its own on the server; alone, it leaves cs_bench alone.
  const db = figures.some((f) => f !== 'tlog') ? await provisionDatabase(progress) : await benchServer(progress);
  progress(`database: ${db.source}; figures: ${figures.join(', ')}`);
  const summary: BenchSummary = {};
  try {
    // The audit and rebuild figures first, on a log of seeded conversations only; the log stays
    // for the figures after them (seeded once per run), its read models at its head for the
    // service. The store bench's streams last: the service would have to catch its read models up.
    const audit = figures.filter((f): f is AuditFigure => f === 'auditQuery' || f === 'projectionRebuild');
    const throughService = figures.some((f) => f === 'http' || f === 'mixed' || f === 'longStream' || f === 'steady');
    if (audit.length) {
      const sizes = { small: num('BENCH_SMALL_EVENTS', 100_000), large: num('BENCH_LARGE_EVENTS', 1_000_000) };
      Object.assign(summary, await runAuditBenchmark(db.url, progress, sizes, audit, throughService));
      process.stdout.write(`${auditTable(summary)}\n`);
    } else if (figures.includes('mixed')) {
      // The mixed figure's export reads the seeded ends: seeded here when no audit figure seeds them.
      await runAuditBenchmark(db.url, progress, { small: num('BENCH_SMALL_EVENTS', 100_000), large: 0 }, [], true);
    }
    if (throughService) await serviceFigures(db.url, figures, summary);
    if (figures.includes('workers')) {
      const plan = {
        connections: 64,
        rounds: num('BENCH_ROUNDS', 3),
        seconds: num('BENCH_WORKERS_SECONDS', 3),
        warmupSeconds: num('BENCH_WORKERS_WARMUP_SECONDS', 1),
      };
      await settleDatabase(db.url, progress);
      summary.workers = await runWorkersBenchmark(db.url, plan, progress);
      process.stdout.write(`${workersTable(summary.workers)}\n`);
    }
    if (figures.includes('encryption')) {
      const plan = {
        connections: 64,
        // many short rounds: a round's three contenders then share the machine's load, which drifts
        // over seconds here (5 rounds of 5 s gave 0.86, 0.97 and 0.94 in three runs in a row)
        rounds: num('BENCH_ENCRYPTION_ROUNDS', 21),
        seconds: num('BENCH_ENCRYPTION_SECONDS', 1.5),
        warmupSeconds: num('BENCH_WARMUP_SECONDS', 1),
      };
      await settleDatabase(db.url, progress);
      summary.encryption = await runEncryptionBenchmark(db.url, plan, progress);
      process.stdout.write(`${encryptionTable(summary.encryption, plan.connections)}\n`);
    }
    if (figures.includes('append')) {
      const plan = appendPlan();
      const contenders = await openContenders(db.url, Math.max(...plan.concurrencies));
      try {
        summary.append = await runAppendBenchmark(contenders.all, plan, progress);
      } finally {
        await contenders.close();
      }
      process.stdout.write(`${appendTable(summary.append)}\n`);
    }
    if (figures.includes('tlog')) {
      summary.tlog = await runTlogBenchmark(
        db.url,
        {
          leaves: num('BENCH_TLOG_LEAVES', 1_000_000),
          proofs: num('BENCH_TLOG_PROOFS', 1000),
          streams: num('BENCH_TLOG_STREAMS', 16),
          // Five pairs by default: a pair's ratio scatters by ±0.06 on this machine, its cost by ~0.01.
          rounds: num('BENCH_TLOG_ROUNDS', 5),
          seconds: num('BENCH_TLOG_SECONDS', 10),
        },
        progress,
      );
      process.stdout.write(`${tlogTable(summary.tlog)}\n`);
    }
    process.stdout.write(`${summaryLine(summary)}\n`);
  } finally {
    await db.release();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
