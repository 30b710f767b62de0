import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { streamIdOf } from '@app/conversation';
import { EVENT_COLUMNS, EventRow, GlobalPosition, parsePosition, StoredEvent, toStoredEvent } from '@app/event-store';
import { type KeyReader, type ReadableEvent, readableEvents, type ReadOptions } from '@app/privacy';
import { countEnds, EndFilters, EndItem, listEnds } from './ends.query';
import { streamEventsUpTo } from './events-up-to';
import { streamStartedBy } from './tenant-streams';

export interface ExportManifest {
  type: 'manifest';
  count: number;
  /** SHA-256 (hex) of every byte before the manifest line. */
  sha256: string;
  filters: EndFilters;
  /** The ends projection's checkpoint: the export holds every end and event up to it, none after. */
  position: string;
}

export interface ExportOptions {
  /** The content keys the events are opened with: `data` readable, `storedData` as hashed, `contentErased`. */
  keys: KeyReader;
  /** Told of a sealed field that does not open (tampered): it is exported null with contentUnreadable. */
  warn?: ReadOptions['warn'];
  /** The effective filters, tenant scope included (they are written into the manifest). */
  filters: EndFilters;
  /** The caller may see no rows at all (a tenant key asking for another tenant): only the manifest. */
  nothing?: boolean;
  pageSize?: number;
  onStart?: (info: { position: string; total: number }) => void;
  /** Called with each page of ends before its lines are written; throwing stops the export there. */
  onPage?: (ends: EndItem[]) => void;
  onProgress?: (written: number) => void;
  onManifest?: (manifest: ExportManifest) => void;
  /**
   * Awaited between two runs of ends with the time the run took (ms): how a service gives its
   * requests way (by default one turn of the event loop, so that requests that came in go first).
   */
  pause?: (stepMs: number) => Promise<void>;
}

const nextTurn = () => new Promise<void>((done) => setImmediate(done));

/** The end filters by name, in the order manifests, the API and the CLI list them. */
export const END_FILTER_NAMES = [
  'reasonCode',
  'initiator',
  'modelId',
  'tenantId',
  'policyVersion',
  'reviewOutcome',
  'from',
  'to',
] as const satisfies readonly (keyof EndFilters)[];

/** Every filter is named above: one added to EndFilters but not to END_FILTER_NAMES fails the build. */
type Unnamed = Exclude<keyof EndFilters, (typeof END_FILTER_NAMES)[number]>;
const everyFilterNamed: [Unnamed] extends [never] ? true : Unnamed = true;
void everyFilterNamed;

/** The filters with absent ones left out, in a fixed order, times as ISO UTC. */
export function manifestFilters(filters: EndFilters): EndFilters {
  const out: Record<string, unknown> = {};
  for (const key of END_FILTER_NAMES) {
    const value = filters[key];
    if (value === undefined) continue;
    out[key] = key === 'from' || key === 'to' ? new Date(value as string).toISOString() : value;
  }
  return out as EndFilters;
}

/**
 * The audit export as NDJSON lines: `{"type":"end","end":{…},"events":[…]}` for each end
 * (newest first, as /v1/audit/ends), then the manifest line. Everything is read in one
 * REPEATABLE READ snapshot, cut at the ends projection's checkpoint, so the lines agree with
 * each other and with the manifest's position. Bounded memory: ends are read a keyset page at
 * a time, each end's events a chunk at a time (a line is yielded in pieces, never built whole),
 * the hash is incremental, and the consumer pulls (backpressure).
 */
export async function* exportEndLines(pool: Pool, options: ExportOptions): AsyncGenerator<string, void, undefined> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const position = await endsCheckpoint(client);
    const filters = manifestFilters(options.filters);
    options.onStart?.({ position, total: options.nothing ? 0 : await countEnds(client, filters) });
    const hash = createHash('sha256');
    const out = new OutputChunks();
    let count = 0;
    let cursor: string | undefined;
    const upTo = parsePosition(position);
    while (!options.nothing) {
      const page = await listEnds(client, filters, { limit: options.pageSize ?? 50, cursor });
      options.onPage?.(page.items);
      for (const group of await groupsOf(client, page.items)) {
        const started = performance.now();
        for await (const piece of groupLinePieces(client, group, upTo, options)) {
          hash.update(piece, 'utf8');
          if (out.add(piece)) yield out.take();
        }
        count += group.length;
        await (options.pause ?? nextTurn)(performance.now() - started);
      }
      // A page's lines are handed on before the next page is recorded (and may be refused).
      if (out.length) yield out.take();
      options.onProgress?.(count);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const manifest: ExportManifest = { type: 'manifest', count, sha256: hash.digest('hex'), filters, position };
    options.onManifest?.(manifest);
    yield `${JSON.stringify(manifest)}\n`;
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await client.query(failed ? 'ROLLBACK' : 'COMMIT').catch(() => undefined);
    client.release();
  }
}

/**
 * Events read by one query of the export at most: ends whose conversations hold this many events
 * together are read in one query (a page of short conversations in a few round trips instead of
 * one each; on a VM a round trip's system calls cost more CPU than the rows), a longer one alone,
 * this many at a time. Bounded memory either way.
 */
export const EXPORT_GROUP_EVENTS = 256;

/** Output gathered up to about this many characters before it is handed on: fewer, larger writes. */
const OUTPUT_CHUNK = 64 * 1024;

/** Pieces of output joined into larger chunks. */
class OutputChunks {
  private pieces: string[] = [];
  length = 0;

  /** True when a chunk is ready to be taken. */
  add(piece: string): boolean {
    this.pieces.push(piece);
    this.length += piece.length;
    return this.length >= OUTPUT_CHUNK;
  }

  take(): string {
    const chunk = this.pieces.join('');
    this.pieces = [];
    this.length = 0;
    return chunk;
  }
}

/**
 * The page's ends in runs, in order, each run's conversations holding at most
 * EXPORT_GROUP_EVENTS events together as this snapshot sees their streams (an upper bound of the
 * events up to the cut), or a single end whose conversation holds more.
 */
async function groupsOf(client: PoolClient, ends: EndItem[]): Promise<EndItem[][]> {
  if (ends.length === 0) return [];
  const { rows } = await client.query<{ stream_id: string; version: string }>(
    'SELECT stream_id, version::text AS version FROM es_streams WHERE stream_id = ANY($1::text[])',
    [ends.map((e) => streamIdOf(e.conversationId))],
  );
  const sizes = new Map(rows.map((r) => [r.stream_id, Number(r.version)]));
  const groups: EndItem[][] = [];
  let group: EndItem[] = [];
  let events = 0;
  for (const end of ends) {
    const size = sizes.get(streamIdOf(end.conversationId)) ?? 0;
    if (group.length && events + size > EXPORT_GROUP_EVENTS) {
      groups.push(group);
      group = [];
      events = 0;
    }
    group.push(end);
    events += size;
  }
  groups.push(group);
  return groups;
}

/** The lines of a run of ends: read in one query, or a long conversation's a chunk at a time. */
async function* groupLinePieces(
  client: PoolClient,
  ends: EndItem[],
  upTo: GlobalPosition,
  options: ExportOptions,
): AsyncGenerator<string> {
  if (ends.length === 1) {
    yield* endLinePieces(client, ends[0], upTo, options);
    return;
  }
  const events = await openGroups(options, await eventsOfEnds(client, ends, upTo));
  for (let i = 0; i < ends.length; i++) {
    const head: Omit<EndLine, 'events'> = { type: 'end', end: ends[i] };
    yield `${JSON.stringify(head).slice(0, -1)},"events":[${events[i].map((e) => JSON.stringify(e)).join(',')}]}\n`;
  }
}

/**
 * Each end's conversation's events committed up to `upTo`, in stream order, in one query; each
 * as its end's tenant's (none when another tenant started the stream), as streamEventsUpTo reads.
 */
async function eventsOfEnds(client: PoolClient, ends: EndItem[], upTo: GlobalPosition): Promise<StoredEvent[][]> {
  const { rows } = await client.query<EventRow & { ord: number }>(
    `SELECT u.ord::int AS ord, ${EVENT_COLUMNS}
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(sid, tenant, ord)
       JOIN es_events ON stream_id = u.sid
      WHERE (transaction_id, position) <= ($3::xid8, $4::bigint)
        AND (u.tenant IS NULL OR ${streamStartedBy('u.sid', 'u.tenant')})
      ORDER BY u.ord, stream_version`,
    [ends.map((e) => streamIdOf(e.conversationId)), ends.map((e) => e.tenantId), upTo.transactionId, upTo.position],
  );
  const events: StoredEvent[][] = ends.map(() => []);
  for (const row of rows) events[row.ord - 1].push(toStoredEvent(row));
  return events;
}

/** The events of each end opened with one key lookup for the run. */
async function openGroups(options: ExportOptions, groups: StoredEvent[][]): Promise<ReadableEvent<StoredEvent>[][]> {
  const opened = await readableEvents(options.keys, groups.flat(), { warn: options.warn });
  let at = 0;
  return groups.map((g) => opened.slice(at, (at += g.length)));
}

interface EndLine {
  type: 'end';
  end: EndItem;
  /** As every read answers them: `data` readable, `storedData` (as hashed) when it differs, `contentErased`. */
  events: ReadableEvent<StoredEvent>[];
}

/**
 * The bytes of `JSON.stringify({type: 'end', end, events}) + "\n"` (an EndLine), in pieces: the
 * head, the events a chunk at a time, the tail. Same bytes as building the line whole.
 */
async function* endLinePieces(
  client: PoolClient,
  end: EndItem,
  upTo: GlobalPosition,
  options: ExportOptions,
): AsyncGenerator<string> {
  const head: Omit<EndLine, 'events'> = { type: 'end', end };
  yield `${JSON.stringify(head).slice(0, -1)},"events":[`;
  let first = true;
  for await (const stored of streamEventsUpTo(client, end.conversationId, upTo, end.tenantId, EXPORT_GROUP_EVENTS)) {
    const events = await readableEvents(options.keys, stored, { warn: options.warn });
    const items = events.map((e) => JSON.stringify(e)).join(',');
    yield first ? items : `,${items}`;
    first = false;
  }
  yield ']}\n';
}

/** The export as a byte stream (pulled, so a slow reader slows the database reads). */
export const exportEndsStream = (pool: Pool, options: ExportOptions): Readable =>
  Readable.from(exportEndLines(pool, options), { objectMode: false, highWaterMark: 64 * 1024 });

/** The ends projection's checkpoint as this snapshot sees it: the position an export is cut at. */
export async function endsCheckpoint(client: PoolClient): Promise<string> {
  const { rows } = await client.query<{ position: string }>(
    "SELECT position FROM projection_checkpoints WHERE name = 'ends'",
  );
  return rows[0]?.position ?? '0-0';
}
