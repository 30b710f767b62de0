import { openContenders } from './contenders';
import { provisionDatabase } from './database';
import { runAuditBenchmark } from './audit-bench';
import { appendTable, auditTable, BenchSummary, summaryLine } from './report';
import { RunPlan, runAppendBenchmark } from './runner';

/**
 * `npm run bench`: appends per second through the store, a raw INSERT and Emmett, on one
 * database in one run. Progress goes to stderr; the table and, as the very last line, one
 * JSON object go to stdout.
 */
const progress = (line: string) => process.stderr.write(`${line}\n`);

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
};

function plan(): RunPlan {
  return {
    concurrencies: [1, 16, 64],
    rounds: num('BENCH_ROUNDS', 3),
    seconds: num('BENCH_SECONDS', 3),
    warmupSeconds: num('BENCH_WARMUP_SECONDS', 1),
  };
}

async function main(): Promise<void> {
  const runPlan = plan();
  const db = await provisionDatabase(progress);
  progress(`database: ${db.source}`);
  try {
    const contenders = await openContenders(db.url, Math.max(...runPlan.concurrencies));
    try {
      // The audit and rebuild figures first, on a log of seeded conversations only.
      const audit = await runAuditBenchmark(db.url, progress, {
        small: num('BENCH_SMALL_EVENTS', 100_000),
        large: num('BENCH_LARGE_EVENTS', 1_000_000),
      });
      const summary: BenchSummary = { append: await runAppendBenchmark(contenders.all, runPlan, progress), ...audit };
      process.stdout.write(`${appendTable(summary.append)}\n`);
      process.stdout.write(`${auditTable(audit)}\n`);
      process.stdout.write(`${summaryLine(summary)}\n`);
    } finally {
      await contenders.close();
    }
  } finally {
    await db.release();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
