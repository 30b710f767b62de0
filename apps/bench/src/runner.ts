import { Contender, ContenderName } from './contenders';

export interface RunPlan {
  concurrencies: number[];
  rounds: number;
  seconds: number;
  warmupSeconds: number;
}

/** Events per second, by concurrency, then by contender. */
export type AppendRates = Record<string, Record<ContenderName, number>>;

/** `concurrency` workers, each appending to its own stream, one event at a time. */
async function measure(contender: Contender, concurrency: number, seconds: number): Promise<number> {
  const writers = Array.from({ length: concurrency }, () => contender.stream());
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let appended = 0;
  await Promise.all(
    writers.map(async (append) => {
      while (performance.now() < deadline) {
        await append();
        appended++;
      }
    }),
  );
  return appended / ((performance.now() - started) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The contenders in another order each round, so that none always runs first or last. */
function rotated<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * For each concurrency: a warm-up run of every contender (connections, plans, caches), then
 * interleaved rounds; the median round of each contender is its figure.
 */
export async function runAppendBenchmark(
  contenders: Contender[],
  plan: RunPlan,
  progress: (line: string) => void,
): Promise<AppendRates> {
  const rates: AppendRates = {};
  for (const concurrency of plan.concurrencies) {
    for (const c of contenders) await measure(c, concurrency, plan.warmupSeconds);
    const samples = new Map<ContenderName, number[]>(contenders.map((c) => [c.name, []]));
    for (let round = 0; round < plan.rounds; round++) {
      for (const c of rotated(contenders, round)) {
        const rate = await measure(c, concurrency, plan.seconds);
        samples.get(c.name)!.push(rate);
        progress(`${concurrency} streams, round ${round + 1}/${plan.rounds}: ${c.name} ${Math.round(rate)} events/s`);
      }
    }
    rates[String(concurrency)] = Object.fromEntries(
      contenders.map((c) => [c.name, Math.round(median(samples.get(c.name)!))]),
    ) as Record<ContenderName, number>;
  }
  return rates;
}
