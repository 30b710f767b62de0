import { createHash } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { GlobalPosition, parsePosition, StoredEvent } from '@app/event-store';
import { type KeyReader, type ReadableEvent, readableEvents, type ReadOptions, sealedFieldsOf } from '@app/privacy';
import { inclusionProofsAt, LogBehind, type TransparencyLog } from '@app/transparency';
import { countEnds, END_COLUMNS, END_FILTER_SQL, endFilterValues, EndFilters, EndItem, toEndItem } from './ends.query';
import { streamEventsUpTo } from './events-up-to';
import { endsCheckpoint, manifestFilters } from './export';

/** The files of an audit bundle, in the order the archive holds them (the manifest and its signature last). */
export const BUNDLE_FILES = [
  'events.ndjson',
  'proofs.ndjson',
  'checkpoint.txt',
  'verifier-key.txt',
  'manifest.json',
  'manifest.sig',
] as const;
export type BundleFile = (typeof BUNDLE_FILES)[number];
/** The files whose SHA-256 the manifest lists. */
export const BUNDLE_HASHED_FILES = ['events.ndjson', 'proofs.ndjson', 'checkpoint.txt', 'verifier-key.txt'] as const;
type HashedFile = (typeof BUNDLE_HASHED_FILES)[number];

/** The first line of the statement manifest.sig signs. */
export const MANIFEST_STATEMENT = 'conversation-audit-manifest';

export interface BundleManifest {
  type: 'manifest';
  origin: string;
  /** Lines of events.ndjson: one per exported event. */
  count: number;
  /** Exported conversations (streams): the lines of proofs.ndjson. */
  conversations: number;
  /** Ends matching the filters, each beside its end event in events.ndjson. */
  ends: number;
  filters: EndFilters;
  /** The ends projection's checkpoint: every end and event up to it, none after. */
  position: string;
  checkpoint: { treeSize: number; rootHash: string };
  files: Record<HashedFile, string>;
  createdAt: string;
}

/** The log cannot sign this bundle: no signing key in this process (a configuration matter). */
export class BundleSigningKeyMissing extends Error {}
/** The transparency log has not sequenced the export's position in time (try again). */
export class BundleLogBehind extends Error {}

export interface BundleOptions {
  /**
   * The content keys: each line keeps `stored` exactly as hashed and, for an event with sealed
   * fields, `plaintext` beside it (`{field: text | null}`, null where the key is destroyed, with
   * `contentErased: true`, or where the envelope does not open, with `contentUnreadable: true`).
   */
  keys: KeyReader;
  warn?: ReadOptions['warn'];
  /** The effective filters, tenant scope included (written into the manifest). */
  filters: EndFilters;
  /** The caller may see nothing (a tenant key asking for another tenant): an empty bundle. */
  nothing?: boolean;
  /** Ends read per query; default 200. */
  pageSize?: number;
  /**
   * Where the inclusion proofs are read (default: `pool`): where the log's checkpoint comes from.
   * The events may come from a replica, whose tree may not have reached that checkpoint yet.
   */
  proofPool?: Pool;
  /** How long to wait for the sequencer to reach the export's position; default 10 s. */
  sequencerTimeoutMs?: number;
  /** Stops the export (its files are left as they are). */
  signal?: AbortSignal;
  now?: () => Date;
  onStart?: (info: { position: string; ends: number }) => void;
  /** Each conversation whose events the bundle holds (for the access log), with its tenant. */
  onConversation?: (read: { tenantId: string; conversationId: string }) => void;
  /** After each conversation: matching ends read and events written so far. */
  onProgress?: (done: { ends: number; events: number }) => void;
}

/** The exported stream's last event: what its inclusion proof is of. */
interface StreamTail {
  streamId: string;
  version: number;
  eventId: string;
}

interface EventsWritten {
  position: string;
  sha256: string;
  events: number;
  /** Ends written beside their events. */
  ends: number;
  /** End rows read (the progress against the count of matching ends). */
  endRows: number;
  tails: StreamTail[];
}

/**
 * Writes an audit bundle (docs: apps/verify/README.md) into `dir`, an existing empty directory:
 * the ends matching the filters with all of their conversations' events, each conversation once
 * (from version 1, `stored` exactly as hashed, the end rows beside their end events), cut at the
 * ends projection's checkpoint inside one REPEATABLE READ snapshot; a signed checkpoint of the
 * transparency log covering that position; an inclusion proof of each conversation's last
 * exported event at the checkpoint's size; the key; the manifest over the files' SHA-256 and its
 * signed note. Memory: events are streamed to disk a chunk at a time; one small record per
 * conversation (its last event) is kept for the proofs.
 */
export async function writeAuditBundle(
  pool: Pool,
  log: TransparencyLog,
  dir: string,
  options: BundleOptions,
): Promise<BundleManifest> {
  const signer = log.signer;
  if (!signer) throw new BundleSigningKeyMissing('no signing key: set SIGNING_KEY_FILE to sign audit bundles');
  const filters = manifestFilters(options.filters);
  const written = await writeEvents(pool, join(dir, 'events.ndjson'), filters, options);
  const checkpoint = await coveringCheckpoint(log, written.position, options);
  if (checkpoint.verifierKey !== signer.verifierKey) {
    throw new BundleLogBehind(
      `the latest checkpoint is signed by ${checkpoint.verifierKey}, not this process's key ${signer.verifierKey}: ` +
        'a bundle is signed with one key; try again once the log has grown',
    );
  }
  const proofsHash = await writeProofs(
    options.proofPool ?? pool,
    join(dir, 'proofs.ndjson'),
    written.tails,
    checkpoint.treeSize,
    options,
  );
  const verifierKey = `${signer.verifierKey}\n`;
  writeFileSync(join(dir, 'checkpoint.txt'), checkpoint.note, { flag: 'wx' });
  writeFileSync(join(dir, 'verifier-key.txt'), verifierKey, { flag: 'wx' });
  const manifest: BundleManifest = {
    type: 'manifest',
    origin: log.origin,
    count: written.events,
    conversations: written.tails.length,
    ends: written.ends,
    filters,
    position: written.position,
    checkpoint: { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash.toString('base64') },
    files: {
      'events.ndjson': written.sha256,
      'proofs.ndjson': proofsHash,
      'checkpoint.txt': sha256(checkpoint.note),
      'verifier-key.txt': sha256(verifierKey),
    },
    createdAt: (options.now?.() ?? new Date()).toISOString(),
  };
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  writeFileSync(join(dir, 'manifest.json'), manifestText, { flag: 'wx' });
  const statement = `${MANIFEST_STATEMENT}\n${log.origin}\nsha256 ${sha256(manifestText)}\n`;
  writeFileSync(join(dir, 'manifest.sig'), signer.signNote(statement), { flag: 'wx' });
  return manifest;
}

/** events.ndjson, streamed from one snapshot to the file (pulled: the disk paces the reads). */
async function writeEvents(
  pool: Pool,
  file: string,
  filters: EndFilters,
  options: BundleOptions,
): Promise<EventsWritten> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const position = await endsCheckpoint(client);
    options.onStart?.({ position, ends: options.nothing ? 0 : await countEnds(client, filters) });
    const hash = createHash('sha256');
    const out: EventsWritten = { position, sha256: '', events: 0, ends: 0, endRows: 0, tails: [] };
    const lines = options.nothing ? [] : eventLines(client, filters, parsePosition(position), out, options);
    async function* hashed(): AsyncGenerator<string> {
      for await (const line of lines) {
        hash.update(line, 'utf8');
        yield line;
      }
    }
    await pipeline(Readable.from(hashed()), createWriteStream(file, { flags: 'wx' }), { signal: options.signal });
    out.sha256 = hash.digest('hex');
    return out;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await client.query(failed ? 'ROLLBACK' : 'COMMIT').catch(() => undefined);
    client.release();
  }
}

/**
 * The lines of events.ndjson: the matching ends in conversation order, a keyset page at a time;
 * each conversation's events once, whatever the number of its ends that match. Ends are grouped
 * by conversation and tenant: a read-model row naming another tenant than the one that started
 * the stream (see END_FILTER_SQL) makes a group of its own, which gets no events, and does not
 * hide the stream's genuine ends from a key of every tenant.
 */
async function* eventLines(
  client: PoolClient,
  filters: EndFilters,
  upTo: GlobalPosition,
  out: EventsWritten,
  options: BundleOptions,
): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? 200;
  let group: EndItem[] = [];
  let after: EndItem | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const { rows } = await client.query(
      `SELECT ${END_COLUMNS} FROM rm_ends
        WHERE ${END_FILTER_SQL}
          AND ($9::uuid IS NULL OR (conversation_id, tenant_id, end_event_id) > ($9::uuid, $10::text, $11::uuid))
        ORDER BY conversation_id, tenant_id, end_event_id
        LIMIT $12`,
      [
        ...endFilterValues(filters),
        after?.conversationId ?? null,
        after?.tenantId ?? null,
        after?.endEventId ?? null,
        pageSize,
      ],
    );
    for (const row of rows) {
      const end = toEndItem(row);
      if (group.length && (group[0].conversationId !== end.conversationId || group[0].tenantId !== end.tenantId)) {
        yield* conversationLines(client, group, upTo, out, options);
        group = [];
      }
      group.push(end);
      after = end;
    }
    if (rows.length < pageSize) break;
  }
  if (group.length) yield* conversationLines(client, group, upTo, out, options);
}

/**
 * One conversation's events up to the cut, from version 1, a chunk at a time: `{"stored": …}`,
 * with `"end": {…as /v1/audit/ends}` beside each matching end's own event. Its stream as the
 * ends' tenant's (none when another tenant started it, as in the export).
 */
async function* conversationLines(
  client: PoolClient,
  ends: EndItem[],
  upTo: GlobalPosition,
  out: EventsWritten,
  options: BundleOptions,
): AsyncGenerator<string> {
  options.signal?.throwIfAborted();
  const endAt = new Map(ends.map((e) => [e.version, e]));
  let last: StoredEvent | null = null;
  for await (const events of streamEventsUpTo(client, ends[0].conversationId, upTo, ends[0].tenantId)) {
    const opened = await readableEvents(options.keys, events, { warn: options.warn });
    for (const [i, e] of events.entries()) {
      const end = endAt.get(e.version);
      const line = {
        stored: storedOf(e),
        ...plaintextOf(opened[i]!),
        ...(end?.endEventId === e.eventId && { end }),
      };
      if (line.end) out.ends++;
      yield `${JSON.stringify(line)}\n`;
      out.events++;
      last = e;
    }
  }
  if (last) {
    out.tails.push({ streamId: last.streamId, version: last.version, eventId: last.eventId });
    options.onConversation?.({ tenantId: ends[0].tenantId, conversationId: ends[0].conversationId });
  }
  out.endRows += ends.length;
  options.onProgress?.({ ends: out.endRows, events: out.events });
}

/** Beside `stored`: the sealed fields' text (null where erased or unreadable), and the markers. */
function plaintextOf(e: ReadableEvent<StoredEvent>) {
  const fields = sealedFieldsOf(e.type).filter((f) => e.data[f] !== undefined);
  if (fields.length === 0) return {};
  return {
    plaintext: Object.fromEntries(fields.map((f) => [f, e.data[f] as string | null])),
    ...(e.contentErased && { contentErased: true as const }),
    ...(e.contentUnreadable && { contentUnreadable: true as const }),
  };
}

/** What the chain hash covers, and its hashes and place: nothing else (recordedAt is not hashed). */
const storedOf = (e: StoredEvent) => ({
  streamId: e.streamId,
  version: e.version,
  eventId: e.eventId,
  type: e.type,
  data: e.data,
  metadata: e.metadata,
  occurredAt: e.occurredAt,
  prevHash: e.prevHash,
  hash: e.hash,
  position: e.position,
});

/** A signed checkpoint whose tree holds every event up to `position`, once the sequencer is past it. */
async function coveringCheckpoint(log: TransparencyLog, position: string, options: BundleOptions) {
  try {
    return await log.checkpointCovering(position, { timeoutMs: options.sequencerTimeoutMs, signal: options.signal });
  } catch (err) {
    throw err instanceof LogBehind ? new BundleLogBehind(err.message) : err;
  }
}

/** Streams whose proofs are read together (two queries a batch). */
const PROOF_BATCH = 250;

/** proofs.ndjson: each stream's last exported event's inclusion proof at `treeSize`; returns its SHA-256. */
async function writeProofs(
  pool: Pool,
  file: string,
  tails: StreamTail[],
  treeSize: number,
  options: BundleOptions,
): Promise<string> {
  const hash = createHash('sha256');
  async function* lines(): AsyncGenerator<string> {
    for (let from = 0; from < tails.length; from += PROOF_BATCH) {
      options.signal?.throwIfAborted();
      const batch = tails.slice(from, from + PROOF_BATCH);
      const proofs = await inclusionProofsAt(pool, batch, treeSize);
      for (const [i, proof] of proofs.entries()) {
        if (proof.eventId !== batch[i].eventId) {
          throw new Error(`the leaf of ${proof.streamId} version ${proof.version} is event ${proof.eventId}`);
        }
        const line = `${JSON.stringify({
          streamId: proof.streamId,
          version: proof.version,
          eventId: proof.eventId,
          leafIndex: proof.leafIndex,
          treeSize,
          leafHash: proof.leafHash.toString('base64'),
          hashes: proof.hashes.map((h) => h.toString('base64')),
        })}\n`;
        hash.update(line, 'utf8');
        yield line;
      }
    }
  }
  await pipeline(Readable.from(lines()), createWriteStream(file, { flags: 'wx' }), { signal: options.signal });
  return hash.digest('hex');
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
