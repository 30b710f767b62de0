import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'pg';
import {
  BUNDLE_FILES,
  BundleLogBehind,
  BundleSigningKeyMissing,
  EndFilters,
  ExportManifest,
  exportEndsStream,
  knownReasonCodes,
  writeAuditBundle,
} from '@app/audit';
import { PostgresEventStore } from '@app/event-store';
import type { AppConfig } from '@app/platform';
import type { KeyReader } from '@app/privacy';
import { projectionLags } from '@app/projections';
import { catchUpSequencer, CheckpointSigner, readSigningKey, resolveOrigin, TransparencyLog } from '@app/transparency';
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
  keys: KeyReader,
  io: ExportIo = consoleIo,
  now = new Date(),
): Promise<number> {
  if (flags.bundle !== undefined) throw new UsageError('--bundle <dir> writes a signed bundle; it takes no --format');
  if (flags.format !== 'jsonl') throw new UsageError('--format jsonl is required (the only format)');
  if (flags.out === true) throw new UsageError('--out needs a file name');
  const filters = await checkedFilters(pool, flags);
  const out = flags.out ?? defaultExportFile(now);
  await noteEndsLag(pool, io);

  let progress: Progress | undefined;
  let manifest: ExportManifest | undefined;
  let shown = 0;
  const body = exportEndsStream(pool, {
    keys,
    warn: (m) => io.err(`warning: ${m}`),
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

/** The filters of the flags, checked as GET /v1/audit/export checks them (a reason code of any stored policy). */
async function checkedFilters(pool: Pool, flags: Record<string, string | true>): Promise<EndFilters> {
  const filters = parseExportFilters(flags);
  if (filters.reasonCode !== undefined) {
    const known = await knownReasonCodes(pool);
    if (!(known as string[]).includes(filters.reasonCode))
      throw new UsageError(`--reasonCode must be one of: ${known.join(', ')}`);
  }
  return filters;
}

async function noteEndsLag(pool: Pool, io: ExportIo): Promise<void> {
  const [lag] = await projectionLags(pool, ['ends']);
  if (lag.lagEvents > 0)
    io.err(`note: the ends projection is ${lag.lagEvents} events behind the log; the export stops at its checkpoint`);
}

/**
 * `export --bundle <dir> [filters]`: the signed audit bundle (the files of GET /v1/audit/export?bundle=1)
 * written into a new or empty directory, over every tenant, signed with SIGNING_KEY_FILE's key. The log
 * is sequenced first (unless the service does it); prints the SHA-256 of manifest.json last.
 */
export async function exportBundleCommand(
  pool: Pool,
  flags: Record<string, string | true>,
  config: AppConfig,
  keyFile: string | undefined,
  keys: KeyReader,
  io: ExportIo = consoleIo,
): Promise<number> {
  const dir = flags.bundle;
  if (dir === undefined || dir === true || dir === '') throw new UsageError('--bundle needs a directory');
  if (flags.format !== undefined) throw new UsageError('--bundle writes its own files: leave out --format');
  if (flags.out !== undefined) throw new UsageError('--bundle writes into its directory: leave out --out');
  const filters = await checkedFilters(pool, flags);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    io.err(`${dir} exists and is not an empty directory: a bundle is written into a new or empty one`);
    return 1;
  }
  if (!keyFile) {
    io.err("no signing key: set SIGNING_KEY_FILE (the log's key: the bundle is signed with it)");
    return 1;
  }
  const origin = await resolveOrigin(pool, config.transparencyLog.origin);
  const signer = new CheckpointSigner(pool, origin, readSigningKey(keyFile, origin), {
    checkpointDir: config.transparencyLog.checkpointDir,
    log: { error: (m) => io.err(m), warn: (m) => io.err(m) },
  });
  await noteEndsLag(pool, io);
  await catchUpSequencer(pool, new PostgresEventStore(pool));

  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  let progress: Progress | undefined;
  let shown = 0;
  try {
    const manifest = await writeAuditBundle(pool, new TransparencyLog(pool, origin, signer), dir, {
      keys,
      warn: (m) => io.err(`warning: ${m}`),
      filters,
      onStart: ({ ends }) => {
        if (io.progress) progress = new Progress('exporting ends', ends);
      },
      onProgress: ({ ends }) => {
        progress?.tick(ends - shown);
        shown = ends;
      },
    });
    progress?.done();
    io.err(
      `wrote a bundle of ${manifest.count} events of ${manifest.conversations} conversations ` +
        `(${manifest.ends} ends, consistent with position ${manifest.position}) to ${dir}, ` +
        `under the checkpoint of tree size ${manifest.checkpoint.treeSize} signed by ${signer.verifierKey}`,
    );
    io.err(`check it offline: npx conversation-audit-verify --key '${signer.verifierKey}' ${dir}`);
    const manifestHash = createHash('sha256')
      .update(readFileSync(join(dir, 'manifest.json')))
      .digest('hex');
    io.out(manifestHash);
    return 0;
  } catch (err) {
    // Half a bundle is no bundle: what this run wrote goes.
    for (const name of BUNDLE_FILES) rmSync(join(dir, name), { force: true });
    if (created) {
      try {
        rmdirSync(dir);
      } catch {
        // Not empty: something else wrote there; leave it.
      }
    }
    if (err instanceof BundleLogBehind || err instanceof BundleSigningKeyMissing) {
      io.err(`no bundle: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
