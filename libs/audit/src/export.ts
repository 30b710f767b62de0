import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Pool, PoolClient } from 'pg';
import { GlobalPosition, parsePosition, StoredEvent } from '@app/event-store';
import { countEnds, EndFilters, EndItem, listEnds } from './ends.query';
import { streamEventsUpTo } from './events-up-to';

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
}

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
    let count = 0;
    let cursor: string | undefined;
    const upTo = parsePosition(position);
    while (!options.nothing) {
      const page = await listEnds(client, filters, { limit: options.pageSize ?? 50, cursor });
      options.onPage?.(page.items);
      for (const end of page.items) {
        // Each end's events as its own tenant's: a row naming another tenant's stream gets none.
        for await (const piece of endLinePieces(client, end, upTo)) {
          hash.update(piece, 'utf8');
          yield piece;
        }
        count++;
      }
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

interface EndLine {
  type: 'end';
  end: EndItem;
  events: StoredEvent[];
}

/**
 * The bytes of `JSON.stringify({type: 'end', end, events}) + "\n"` (an EndLine), in pieces: the
 * head, the events a chunk at a time, the tail. Same bytes as building the line whole.
 */
async function* endLinePieces(client: PoolClient, end: EndItem, upTo: GlobalPosition): AsyncGenerator<string> {
  const head: Omit<EndLine, 'events'> = { type: 'end', end };
  yield `${JSON.stringify(head).slice(0, -1)},"events":[`;
  let first = true;
  for await (const events of streamEventsUpTo(client, end.conversationId, upTo, end.tenantId)) {
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
