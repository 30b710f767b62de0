import type { AuditBenchResult } from './audit-bench';
import { AppendRates } from './runner';

/**
 * Everything the benchmark measured, as the one JSON object printed last. Other tools read
 * that line; later benchmarks add their own keys here.
 */
export interface BenchSummary extends Partial<AuditBenchResult> {
  append: AppendRates;
}

/** The audit query at two log sizes and the rebuild against a plain read, with their ratios. */
export function auditTable(r: AuditBenchResult): string {
  const q = r.auditQuery;
  const p = r.projectionRebuild;
  return [
    `Ends-by-reason page (median ms): ${q.small} at ${q.smallEvents} events, ${q.large} at ${q.largeEvents} events; large/small ${ratio(q.large, q.small)} (goal <= 2)`,
    `Full rebuild of every projection: ${p.rebuild} events/s; plain commit-order read: ${p.rawRead} events/s; rebuild/read ${ratio(p.rebuild, p.rawRead)} (goal >= 0.5)`,
  ].join('\n');
}

export function summaryLine(summary: BenchSummary): string {
  return JSON.stringify(summary);
}

function ratio(a: number, b: number): string {
  return b > 0 ? (a / b).toFixed(2) : '-';
}

export function appendTable(rates: AppendRates): string {
  const header = ['streams', 'store/s', 'raw/s', 'emmett/s', 'store/raw', 'store/emmett'];
  const rows = Object.entries(rates).map(([streams, r]) => [
    streams,
    String(r.store),
    String(r.raw),
    String(r.emmett),
    ratio(r.store, r.raw),
    ratio(r.store, r.emmett),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [
    'Appends per second (one event per append, each stream with its exact expected version;',
    'the store with hash chain and idempotency key):',
    line(header),
    ...rows.map(line),
  ].join('\n');
}
