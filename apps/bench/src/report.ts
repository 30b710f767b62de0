import { AppendRates } from './runner';

/**
 * Everything the benchmark measured, as the one JSON object printed last. Other tools read
 * that line; later benchmarks add their own keys here.
 */
export interface BenchSummary {
  append: AppendRates;
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
