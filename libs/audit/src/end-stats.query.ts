import { isoOrNull, Queryable } from './queryable';

export const STAT_BUCKETS = ['day', 'week'] as const;
export const STAT_GROUPS = ['reasonCode', 'modelId'] as const;

export interface EndStatsOptions {
  bucket?: (typeof STAT_BUCKETS)[number];
  groupBy?: (typeof STAT_GROUPS)[number];
  tenantId?: string;
  /** UTC days overlapping [from, to) are counted. */
  from?: string;
  to?: string;
}

export interface EndStatsBucket {
  /** The bucket's first UTC day (a Monday for ISO weeks), YYYY-MM-DD. */
  start: string;
  counts: Record<string, number>;
  total: number;
  conversationsStarted: number;
  /** Ends per 1,000 conversations started in the bucket; null when none started. */
  ratePer1000: number | null;
}

/** An end without a modelId (an operator end may have none) is counted under this key. */
export const NO_MODEL_KEY = '(none)';

// $1 'day' | 'week' (date_trunc's unit, a bound value), $2 tenant, $3 from, $4 to.
const DAY_RANGE = `($2::text IS NULL OR tenant_id = $2)
  AND ($3::timestamptz IS NULL OR day >= ($3::timestamptz AT TIME ZONE 'UTC')::date)
  AND ($4::timestamptz IS NULL OR day < ($4::timestamptz AT TIME ZONE 'UTC'))`;
const BUCKET = `to_char(date_trunc($1::text, day::timestamp), 'YYYY-MM-DD')`;

/** Counts of ends by reason or model per day or ISO week, beside the conversations started. */
export async function endStats(q: Queryable, options: EndStatsOptions): Promise<{ buckets: EndStatsBucket[] }> {
  const unit = options.bucket ?? 'day';
  const range = [unit, options.tenantId ?? null, isoOrNull(options.from), isoOrNull(options.to)];
  const started = await q.query<{ start: string; n: string }>(
    `SELECT ${BUCKET} AS start, sum(started)::text AS n FROM rm_daily_started WHERE ${DAY_RANGE} GROUP BY 1`,
    range,
  );
  const ends = await q.query<{ start: string; key: string; n: string }>(
    `SELECT ${BUCKET} AS start, key, sum(ends)::text AS n FROM rm_daily_ends
      WHERE dimension = $5 AND ${DAY_RANGE} GROUP BY 1, 2`,
    [...range, options.groupBy ?? 'reasonCode'],
  );
  const buckets = new Map<string, EndStatsBucket>();
  const bucket = (start: string) => {
    let b = buckets.get(start);
    if (!b) buckets.set(start, (b = { start, counts: {}, total: 0, conversationsStarted: 0, ratePer1000: null }));
    return b;
  };
  for (const r of started.rows) bucket(r.start).conversationsStarted = Number(r.n);
  for (const r of ends.rows) {
    const b = bucket(r.start);
    const key = r.key === '' ? NO_MODEL_KEY : r.key;
    b.counts[key] = (b.counts[key] ?? 0) + Number(r.n);
    b.total += Number(r.n);
  }
  for (const b of buckets.values()) {
    b.ratePer1000 =
      b.conversationsStarted > 0 ? Math.round((b.total / b.conversationsStarted) * 1000 * 100) / 100 : null;
  }
  return { buckets: [...buckets.values()].sort((a, b) => a.start.localeCompare(b.start)) };
}
