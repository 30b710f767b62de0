import { createWriteStream, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'pg';
import { ExportManifest, exportEndsStream, knownReasonCodes } from '@app/audit';
import { projectionLags } from '@app/projections';
import { UsageError } from '../args';
import { Progress } from '../progress';
import { parseExportFilters } from './export-filters';

export interface ExportIo {
  /** stdout lines: the manifest's SHA-256 is the last. */
  out(line: string): void;
  /** stderr lines: what was written where. */
  err(line: string): void;
  /** A progress bar on stderr. */
  progress?: boolean;
}

const consoleIo: ExportIo = { out: (l) => console.log(l), err: (l) => console.error(l), progress: true };

/** audit-export-2025-08-20T10-11-12-123Z.jsonl: sortable, and safe on every file system. */
export const defaultExportFile = (now: Date): string => `audit-export-${now.toISOString().replace(/[:.]/g, '-')}.jsonl`;

export const manifestFileOf = (out: string): string => `${out.replace(/\.jsonl$/, '')}.manifest.json`;

/**
 * `export --format jsonl [filters] [--out file]`: the same NDJSON as GET /v1/audit/export, over
 * every tenant, with its manifest written beside it; the manifest's SHA-256 is printed last.
 */
export async function exportCommand(
  pool: Pool,
  flags: Record<string, string | true>,
  io: ExportIo = consoleIo,
  now = new Date(),
): Promise<number> {
  if (flags.format !== 'jsonl') throw new UsageError('--format jsonl is required (the only format)');
  if (flags.out === true) throw new UsageError('--out needs a file name');
  const filters = parseExportFilters(flags);
  if (filters.reasonCode !== undefined) {
    // As GET /v1/audit/export: a code of any stored policy version.
    const known = await knownReasonCodes(pool);
    if (!(known as string[]).includes(filters.reasonCode))
      throw new UsageError(`--reasonCode must be one of: ${known.join(', ')}`);
  }
  const out = flags.out ?? defaultExportFile(now);
  const [lag] = await projectionLags(pool, ['ends']);
  if (lag.lagEvents > 0)
    io.err(`note: the ends projection is ${lag.lagEvents} events behind the log; the export stops at its checkpoint`);

  let progress: Progress | undefined;
  let manifest: ExportManifest | undefined;
  let shown = 0;
  const body = exportEndsStream(pool, {
    filters,
    onStart: ({ total }) => {
      if (io.progress) progress = new Progress('exporting ends', total);
    },
    onProgress: (written) => {
      progress?.tick(written - shown);
      shown = written;
    },
    onManifest: (m) => (manifest = m),
  });
  await pipeline(body, createWriteStream(out, { flags: 'wx' }));
  progress?.done();
  if (!manifest) throw new Error('the export ended without its manifest');
  const manifestFile = manifestFileOf(out);
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
  io.err(
    `exported ${manifest.count} ends to ${out} (consistent with position ${manifest.position}); ` +
      `manifest: ${manifestFile}`,
  );
  io.out(manifest.sha256);
  return 0;
}
