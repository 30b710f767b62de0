import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The `mixed` figure's audit export client, in a process of its own (forked by mixed-bench.ts)
 * so that reading the export costs the load generator's process nothing: `GET /v1/audit/export`
 * read to its manifest line, then again, until the parent says `stop`. A `mark` message answers
 * the counts so far, so the parent takes the rate over its measured leg only.
 *
 * Environment: EXPORT_URL (the whole URL), EXPORT_KEY (an auditor key), EXPORT_KBPS (0: read as
 * fast as the service sends; else a slow reader, at most that many kB/s).
 */
export interface ExportCounts {
  /** NDJSON lines of ends read (manifest lines not counted). */
  rows: number;
  bytes: number;
  /** Exports read to their manifest line. */
  completed: number;
  /** Exports that failed (an answer other than 200, or a body cut before its manifest). */
  failed: number;
  /** Answers other than 200, by status. */
  statuses: Record<string, number>;
  /** Milliseconds since the reader started. */
  atMs: number;
}

export type ReaderMessage = { type: 'started' } | ({ type: 'counts' } & ExportCounts);

const url = process.env.EXPORT_URL ?? '';
const key = process.env.EXPORT_KEY ?? '';
const kbps = Number(process.env.EXPORT_KBPS ?? 0);
const started = Date.now();
const NEWLINE = 0x0a;
const counts: Omit<ExportCounts, 'atMs'> = { rows: 0, bytes: 0, completed: 0, failed: 0, statuses: {} };
let stopping = false;
let announced = false;

const send = (message: ReaderMessage) => process.send?.(message);
const snapshot = (): ReaderMessage => ({ type: 'counts', ...counts, atMs: Date.now() - started });

/** One export read to its end: its lines counted as they arrive (the last one is the manifest). */
async function readOnce(abort: AbortSignal): Promise<void> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: abort });
  if (res.status !== 200 || !res.body) {
    counts.statuses[res.status] = (counts.statuses[res.status] ?? 0) + 1;
    counts.failed++;
    await res.body?.cancel();
    // 503 BUSY and the like: the reader waits as a client would, briefly.
    await sleep(500);
    return;
  }
  // Lines of this export so far; the newest one may be the manifest, so it counts once the next
  // one arrives (or the export ends without its manifest).
  const before = counts.rows;
  let lines = 0;
  let lastByte = -1;
  for await (const chunk of res.body) {
    if (!announced) {
      announced = true;
      send({ type: 'started' });
    }
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) lines++;
    counts.bytes += chunk.length;
    counts.rows = before + Math.max(0, lines - 1);
    lastByte = chunk[chunk.length - 1];
    if (kbps > 0) await sleep((chunk.length / (kbps * 1024)) * 1000);
    if (stopping) return;
  }
  if (lastByte === NEWLINE) counts.completed++;
  else {
    counts.rows = before + lines;
    counts.failed++;
  }
}

async function main(): Promise<void> {
  const abort = new AbortController();
  process.on('message', (message: string) => {
    if (message === 'mark') send(snapshot());
    if (message === 'stop') {
      stopping = true;
      abort.abort();
      // The channel closes once the counts are sent; the process then ends.
      process.send?.(snapshot(), () => process.disconnect?.());
    }
  });
  while (!stopping) {
    await readOnce(abort.signal).catch((err: unknown) => {
      if (stopping) return;
      counts.failed++;
      process.stderr.write(`export reader: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  }
}

void main();
