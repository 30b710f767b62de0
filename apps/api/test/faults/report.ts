import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';

/** One scenario's line of the fault suite's table. */
export interface Row {
  scenario: string;
  acknowledged: number;
  stored: number;
  lost: number;
  duplicated: number;
  /** Acknowledged messages whose commit's answer was lost, acknowledged on a retry (answersLostAfterCommit). */
  answerLost: number;
  chain: string;
  readModels: string;
  /** The transparency log: 'ok' (one leaf per event, indexes 0..n-1), else what is wrong. */
  tlog: string;
  /** From the fault's end to the first acknowledged write after it, and until every client that failed wrote again. */
  recoveryFirstMs: number | null;
  recoveryAllMs: number | null;
  answers: Record<string, number>;
  unanswered: number;
  notes: string;
}

export const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

/** The 1, 5 and 15 minute load averages, e.g. `3.61 / 2.80 / 3.30`. */
export const loadAverage = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');

/** The table in Markdown, one row per scenario. */
export function markdownTable(table: Row[]): string {
  const header = [
    'scenario',
    'acknowledged',
    'stored',
    'lost',
    'duplicated',
    'committed, answer lost (retry replayed)',
    'chain verification',
    'read models = rebuild',
    'tlog leaves',
    'recovery (first write / all clients)',
    'refused or failed attempts (retried)',
    'notes',
  ];
  const cells = table.map((r) => [
    r.scenario,
    String(r.acknowledged),
    String(r.stored),
    String(r.lost),
    String(r.duplicated),
    String(r.answerLost),
    r.chain,
    r.readModels,
    r.tlog,
    `${seconds(r.recoveryFirstMs)} / ${seconds(r.recoveryAllMs)}`,
    Object.entries(r.answers)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none',
    r.notes,
  ]);
  return [header, header.map(() => '---'), ...cells].map((c) => `| ${c.join(' | ')} |`).join('\n');
}

/**
 * Prints the one table (with the load's settings and the machine's load average) and writes it to
 * dist/faults-report.json and .md.
 */
export function report(table: Row[], load: { clients: number; loadMs: number; loadAverageAtStart: string }): void {
  const md = markdownTable(table);
  const dist = join(resolve(__dirname, '../../../..'), 'dist');
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'faults-report.json'), `${JSON.stringify(table, null, 2)}\n`);
  writeFileSync(join(dist, 'faults-report.md'), `${md}\n`);
  process.stdout.write(
    `\nFault suite (${load.clients} clients, at least ${load.loadMs / 1000} s of load per scenario; ` +
      `load average 1/5/15 min: ${load.loadAverageAtStart} at the start, ${loadAverage()} at the end):\n${md}\n\n`,
  );
}
