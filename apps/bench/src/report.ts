import type { EncryptionResult } from './encryption/encryption-bench';
import type { TlogResult } from './tlog/tlog-bench';
import type { AuditBenchResult } from './audit-bench';
import type { HttpResult } from './http/http-bench';
import type { MixedPlan, MixedResult } from './http/mixed-bench';
import type { WorkersResult } from './http/workers-bench';
import type { LongStreamResult } from './long-stream/long-stream-bench';
import type { SteadyResult } from './http/steady-bench';
import { AppendRates } from './runner';

/**
 * Everything the benchmark measured, as the one JSON object printed last: a key for each figure
 * that ran (`npm run bench -- <figure>` runs some). Other tools read that line.
 */
export interface BenchSummary extends Partial<AuditBenchResult> {
  append?: AppendRates;
  http?: HttpResult;
  mixed?: MixedResult;
  longStream?: LongStreamResult;
  steady?: SteadyResult;
  tlog?: TlogResult;
  workers?: WorkersResult;
  encryption?: EncryptionResult;
}

/** Proof latency on the stored tree and the append rate with the transparency log running. */
export function tlogTable(r: TlogResult): string {
  return [
    `Transparency log, ${r.treeSize}-leaf tree (stored in ${r.fillSeconds} s): ` +
      `inclusion proof median ${r.inclusionMs.median} ms, p99 ${r.inclusionMs.p99} ms; ` +
      `consistency proof median ${r.consistencyMs.median} ms, p99 ${r.consistencyMs.p99} ms (goal < 10)`,
    `Append rate, ${r.appendStreams} streams: ${r.appendWithout} events/s without the sequencer and signer, ` +
      `${r.appendWith} with them; with/without ${r.appendRatio} (goal >= 0.9); ` +
      `caught up ${r.catchUpMs} ms after the last append (counted)`,
    `Machine CPU per appended event (every process): ${r.appendCpuUsWithout ?? '?'} µs without the log, ` +
      `${r.appendCpuUsWith ?? '?'} with it; with/without ${r.appendCpuRatio ?? '?'}`,
  ].join('\n');
}

/** The audit query at two log sizes and the rebuild against a plain read, with their ratios. */
export function auditTable(r: Partial<AuditBenchResult>): string {
  const q = r.auditQuery;
  const p = r.projectionRebuild;
  return [
    q &&
      `Ends-by-reason page (median ms): ${q.small} at ${q.smallEvents} events, ` +
        `${q.large} at ${q.largeEvents} events; large/small ${ratio(q.large, q.small)} (goal <= 2)`,
    p &&
      `Full rebuild of every projection: ${p.rebuild} events/s; plain commit-order read: ${p.rawRead} events/s; ` +
        `rebuild/read ${ratio(p.rebuild, p.rawRead)} (goal >= 0.5)`,
  ]
    .filter(Boolean)
    .join('\n');
}

export function httpTable(r: HttpResult): string {
  return [
    'POST /v1/conversations/:id/messages, 64 connections, one conversation each (autocannon):',
    `  service ${r.service} messages/s (p99 ${r.serviceP99Ms} ms); bare Fastify route with a raw INSERT ${r.bare}` +
      ` messages/s (p99 ${r.bareP99Ms} ms); service/bare ${r.ratio} (goal >= 0.7)`,
    `  CPU per message (µs): service ${r.serviceCpuUsPerMessage ?? '?'} (with its projections), ` +
      `bare ${r.bareCpuUsPerMessage ?? '?'}; the machine's (every process): service ` +
      `${r.serviceMachineCpuUsPerMessage ?? '?'}, bare ${r.bareMachineCpuUsPerMessage ?? '?'}`,
  ].join('\n');
}

export function mixedTable(r: MixedResult, plan: MixedPlan): string {
  const reader = plan.exportKbps > 0 ? `a reader of at most ${plan.exportKbps} kB/s` : 'a reader as fast as it is sent';
  return [
    `Mixed load, 90 % GET /v1/conversations/:id and 10 % POST …/messages, ${plan.connections} connections over ` +
      `${plan.conversations} conversations (autocannon), ${plan.seconds} s legs alone and with GET /v1/audit/export ` +
      `(${reader}), median of ${plan.rounds}:`,
    `  write p99 ${r.writeP99Ms} ms alone, ${r.writeP99WithExportMs} ms with the export; with/without ${r.ratio} ` +
      `(goal <= 1.5; rounds ${r.ratios.join(', ')})`,
    `  read p99 ${r.readP99Ms} ms alone, ${r.readP99WithExportMs} ms with the export; ` +
      `${r.rps} answers/s alone, ${r.rpsWithExport} with the export`,
    `  the export meanwhile: ${r.exportRowsPerS} ends (NDJSON lines) per second, ${r.exportMBPerS} MB/s`,
    r.failed + r.failedWithExport > 0
      ? `  NOT A FIGURE: ${r.failed} requests failed alone, ${r.failedWithExport} with the export (not in the p99s)`
      : '  no request failed',
  ].join('\n');
}

export function longStreamTable(r: LongStreamResult, events: { long: number; short: number }): string {
  return (
    `One message appended through HTTP (median ms): ${r.longMs} to a ${events.long}-event conversation, ` +
    `${r.shortMs} to a ${events.short}-event one; long/short ${r.ratio} (goal <= 1.5)\n` +
    `Without the state cache (newest snapshot + the events after it, median ms): ${r.coldLongMs} long, ` +
    `${r.coldShortMs} short; long/short ${r.coldRatio}\n` +
    `The service's CPU per message until every read model holds it (ms): ${r.serviceCpuLongMs ?? '?'} long, ` +
    `${r.serviceCpuShortMs ?? '?'} short; long/short ${r.serviceCpuRatio ?? '?'}`
  );
}

export function steadyTable(r: SteadyResult): string {
  return (
    `A steady ${r.rate} messages/s, one at a time (ms of CPU per message, median of rounds): ` +
    `the service's process ${r.serviceCpuMsPerMessage ?? '?'} (until its read models hold it), ` +
    `the bare route's ${r.bareCpuMsPerMessage ?? '?'}; ` +
    `the machine's ${r.serviceMachineCpuMsPerMessage ?? '?'} vs ${r.bareMachineCpuMsPerMessage ?? '?'} ` +
    `(service/bare ${r.machineRatio ?? '?'})\n` +
    `The service idle: ${r.serviceIdleCpuMsPerSecond ?? '?'} ms of CPU a second`
  );
}

export function encryptionTable(r: EncryptionResult, connections: number): string {
  return (
    `Messages appended through the command path, ${connections} conversations at once (median of rounds): ` +
    `encrypted ${r.sealed}/s (p99 ${r.sealedP99Ms} ms), plaintext ${r.plain}/s (p99 ${r.plainP99Ms} ms); ` +
    `encrypted/plaintext ${r.ratio}, median of the rounds' ratios (goal >= 0.95)\n` +
    `Machine CPU per message (every process): encrypted ${r.sealedCpuUs ?? '?'} µs, plaintext ` +
    `${r.plainCpuUs ?? '?'} µs; encrypted/plaintext ${r.cpuRatio ?? '?'}\n` +
    `Plaintext padded to the envelope's length, no cryptography (what the larger rows alone cost): ` +
    `${r.sizeOnly}/s; padded/plaintext ${r.sizeOnlyRatio}, machine CPU ${r.sizeOnlyCpuRatio ?? '?'}\n`
  );
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
