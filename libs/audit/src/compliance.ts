import {
  ConversationEnded,
  ConversationState,
  evaluateEndGuards,
  evolve,
  initialState,
  Policy,
  RecordedConversationEvent,
  toEndCommandData,
} from '@app/conversation';
import { conversationIdOf } from '@app/conversation';
import { eventData, typeIs } from '@app/projections';
import { decodeSequenceCursor, encodeSequenceCursor, InvalidCursor } from './cursor';
import { isoOrNull, Page, pageLimit, Queryable } from './queryable';
import { streamStartedBy } from './tenant-streams';
import { readStoredPolicies } from './stored-policies';

/** The end event's fields the filters read (names checked against the event definitions). */
const ended = eventData('ConversationEnded');

/** Besides the guard codes: an end that cannot be re-checked is itself a finding. */
export const UNKNOWN_POLICY_VERSION = 'UNKNOWN_POLICY_VERSION';
export const MALFORMED_END = 'MALFORMED_END';
export const UNREADABLE_HISTORY = 'UNREADABLE_HISTORY';

export interface ComplianceItem {
  endEventId: string;
  conversationId: string;
  tenantId: string | null;
  policyVersion: number | null;
  reasonCode: string | null;
  initiator: string | null;
  modelId: string | null;
  endedAt: string;
  version: number;
  position: string;
  failedGuards: string[];
}

export interface ComplianceOptions {
  /** The rules of each version; by default the versions stored in the database (stored-policies.ts). */
  policyOf?: (version: number) => Policy | undefined;
  tenantId?: string;
  /** The end's own fields, as /v1/audit/ends filters them; times: from inclusive, to exclusive. */
  reasonCode?: string;
  modelId?: string;
  policyVersion?: number;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  /** At most this many ends are re-checked per call; nextCursor then says where to go on. */
  scanBudget?: number;
}

interface EndRow {
  seq: string;
  tx: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  data: ConversationEnded['data'];
  tenant_id: string | null;
  occurred_at: Date;
}

const SCAN_PAGE = 200;

/**
 * Every ConversationEnded of the log, re-checked against its own policy version as stored at
 * first use (not the code's copy): the stream is folded up to just before the end and the
 * guards run again on that state. A healthy log gives no item. The log is scanned in pages
 * (one stream folded at a time), so memory stays bounded.
 */
export async function checkCompliance(
  q: Queryable,
  options: ComplianceOptions = {},
): Promise<Page<ComplianceItem> & { checkedEnds: number }> {
  const policyOf = options.policyOf ?? (await storedPolicyOf(q));
  const limit = pageLimit(options.limit);
  const budget = Math.max(options.scanBudget ?? 5000, 1);
  const start = options.cursor === undefined ? '0' : decodeSequenceCursor(options.cursor);
  if (start === null) throw new InvalidCursor();
  let after: string = start;
  const items: ComplianceItem[] = [];
  let checked = 0;
  for (;;) {
    const requested = Math.min(SCAN_PAGE, budget - checked);
    const { rows } = await q.query<EndRow>(
      `SELECT position::text AS seq, transaction_id::text AS tx, stream_id, stream_version::text AS stream_version, ` +
        `event_id,
              data, metadata ->> 'tenantId' AS tenant_id, occurred_at
         FROM es_events e
        WHERE ${typeIs(['ConversationEnded'])} AND position > $1::bigint
          AND ($2::text IS NULL OR (metadata ->> 'tenantId' = $2 AND ${streamStartedBy('e.stream_id', '$2')}))
          AND ($4::text IS NULL OR ${ended.text('reasonCode')} = $4)
          AND ($5::text IS NULL OR ${ended.text('modelId')} = $5)
          AND ($6::int IS NULL OR ${ended.json('policyVersion')} = to_jsonb($6::int))
          AND ($7::timestamptz IS NULL OR occurred_at >= $7)
          AND ($8::timestamptz IS NULL OR occurred_at < $8)
        ORDER BY position
        LIMIT $3`,
      [
        after,
        options.tenantId ?? null,
        requested,
        options.reasonCode ?? null,
        options.modelId ?? null,
        options.policyVersion ?? null,
        isoOrNull(options.from),
        isoOrNull(options.to),
      ],
    );
    const exhausted = rows.length < requested;
    const verdicts = await recheck(q, rows, policyOf);
    for (const [i, row] of rows.entries()) {
      checked++;
      after = row.seq;
      const failed = verdicts.get(row.event_id) ?? [];
      if (failed.length > 0) items.push(toItem(row, failed));
      if (items.length === limit) {
        const more = i < rows.length - 1 || !exhausted;
        return { items, nextCursor: more ? encodeSequenceCursor(after) : null, checkedEnds: checked };
      }
    }
    if (exhausted) return { items, nextCursor: null, checkedEnds: checked };
    if (checked >= budget) return { items, nextCursor: encodeSequenceCursor(after), checkedEnds: checked };
  }
}

async function storedPolicyOf(q: Queryable): Promise<(version: number) => Policy | undefined> {
  const stored = await readStoredPolicies(q);
  return (version) => stored.get(version)?.policy ?? undefined;
}

/** Failed guards of each end of a page, by end event id; one stream folded at a time. */
async function recheck(
  q: Queryable,
  ends: EndRow[],
  policyOf: (version: number) => Policy | undefined,
): Promise<Map<string, string[]>> {
  const verdicts = new Map<string, string[]>();
  const byStream = new Map<string, EndRow[]>();
  for (const end of ends) byStream.set(end.stream_id, [...(byStream.get(end.stream_id) ?? []), end]);
  for (const [streamId, streamEnds] of byStream) {
    streamEnds.sort((a, b) => Number(a.stream_version) - Number(b.stream_version));
    const lastVersion = Number(streamEnds.at(-1)!.stream_version);
    const { rows } = await q.query<{
      version: string;
      event_id: string;
      type: string;
      data: object;
      occurred_at: Date;
    }>(
      // Only a history the end's own tenant started is folded: else the end is re-checked on
      // nothing, and is a finding.
      `SELECT stream_version::text AS version, event_id, type, data, occurred_at FROM es_events
        WHERE stream_id = $1 AND stream_version < $2 AND ${streamStartedBy('$1', '$3')} ORDER BY stream_version`,
      [streamId, lastVersion, streamEnds[0].tenant_id],
    );
    let state = initialState();
    let next = 0;
    let unreadable = false;
    for (const end of streamEnds) {
      const version = Number(end.stream_version);
      try {
        for (; next < rows.length && Number(rows[next].version) < version; next++) {
          const r = rows[next];
          const event = {
            type: r.type,
            data: r.data,
            eventId: r.event_id,
            version: Number(r.version),
            occurredAt: r.occurred_at.toISOString(),
          };
          state = evolve(state, event as RecordedConversationEvent);
        }
      } catch {
        unreadable = true;
      }
      verdicts.set(end.event_id, unreadable ? [UNREADABLE_HISTORY] : verdict(state, end.data, policyOf));
    }
  }
  return verdicts;
}

function verdict(
  state: ConversationState,
  data: ConversationEnded['data'],
  policyOf: (version: number) => Policy | undefined,
): string[] {
  const policy = typeof data?.policyVersion === 'number' ? policyOf(data.policyVersion) : undefined;
  if (!policy) return [UNKNOWN_POLICY_VERSION];
  try {
    return evaluateEndGuards(state, toEndCommandData(data), policy);
  } catch {
    return [MALFORMED_END];
  }
}

function toItem(row: EndRow, failedGuards: string[]): ComplianceItem {
  const data = (row.data ?? {}) as Partial<ConversationEnded['data']>;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    endEventId: row.event_id,
    conversationId: conversationIdOf(row.stream_id) ?? row.stream_id,
    tenantId: row.tenant_id,
    policyVersion: typeof data.policyVersion === 'number' ? data.policyVersion : null,
    reasonCode: text(data.reasonCode),
    initiator: text(data.initiator),
    modelId: text(data.modelId),
    endedAt: row.occurred_at.toISOString(),
    version: Number(row.stream_version),
    position: `${row.tx}-${row.seq}`,
    failedGuards,
  };
}
