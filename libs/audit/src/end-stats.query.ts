import { END_FILTER_SQL, type EndFilters, endFilterValues } from './ends.query';
import { isoOrNull, Queryable } from './queryable';

export const STAT_BUCKETS = ['day', 'week'] as const;
export const STAT_GROUPS = ['reasonCode', 'modelId', 'initiator', 'reviewOutcome'] as const;
export type StatGroup = (typeof STAT_GROUPS)[number];

/** The filters of /v1/audit/ends; but from and to: the UTC days overlapping [from, to) are counted. */
export interface EndStatsOptions extends EndFilters {
  bucket?: (typeof STAT_BUCKETS)[number];
  groupBy?: StatGroup;
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

/** The key an end is counted under, per grouping (SQL over rm_ends). */
const GROUP_KEY: Record<StatGroup, string> = {
  reasonCode: 'reason_code',
  modelId: `coalesce(model_id, '')`,
  initiator: 'initiator',
  // the latest review's outcome; never reviewed: pending
  reviewOutcome: `coalesce(review_outcome, 'none')`,
};

/** The filters that narrow the ends themselves (the daily counts know only tenant and day). */
const NARROWING: readonly (keyof EndFilters)[] = [
  'reasonCode',
  'initiator',
  'modelId',
  'policyVersion',
  'reviewOutcome',
];

const DAY_MS = 86_400_000;
/** The first instant of the UTC day of a time. */
const dayStart = (time: string): string => new Date(Math.floor(Date.parse(time) / DAY_MS) * DAY_MS).toISOString();
/** After 9999-12-31 (PostgreSQL cannot read year 10000 as written): no bound at all. */
const YEAR_10000 = Date.UTC(10_000, 0, 1);
/**
 * The first instant of the UTC day after the days that begin before a time (`day < to`);
 * undefined when that is in year 10000 (nothing lies beyond it).
 */
const dayEndBefore = (time: string): string | undefined => {
  const end = Math.ceil(Date.parse(time) / DAY_MS) * DAY_MS;
  return end >= YEAR_10000 ? undefined : new Date(end).toISOString();
};

/**
 * Counts of ends by reason, model, initiator or review outcome per day or ISO week, beside the
 * conversations started (of the model, when one is named). Unfiltered counts by reason or model
 * come from the daily counts; any other from the ends themselves, filtered as /v1/audit/ends
 * filters them (END_FILTER_SQL), over the whole UTC days that overlap [from, to).
 */
export async function endStats(q: Queryable, options: EndStatsOptions): Promise<{ buckets: EndStatsBucket[] }> {
  const unit = options.bucket ?? 'day';
  const groupBy = options.groupBy ?? 'reasonCode';
  const range = [unit, options.tenantId ?? null, isoOrNull(options.from), isoOrNull(options.to)];
  // Whole UTC days overlapping [from, to), as bounds on the time itself (the indexes serve them).
  const days = {
    from: options.from === undefined ? undefined : dayStart(options.from),
    to: options.to === undefined ? undefined : dayEndBefore(options.to),
  };
  const started = await q.query<{ start: string; n: string }>(
    options.modelId === undefined
      ? `SELECT ${BUCKET} AS start, sum(started)::text AS n FROM rm_daily_started WHERE ${DAY_RANGE} GROUP BY 1`
      : `SELECT to_char(date_trunc($1::text, (started_at AT TIME ZONE 'UTC')::date::timestamp), 'YYYY-MM-DD') AS start,
                count(*)::text AS n
           FROM rm_conversations
          WHERE model_id = $5 AND ($2::text IS NULL OR tenant_id = $2)
            AND ($3::timestamptz IS NULL OR started_at >= $3) AND ($4::timestamptz IS NULL OR started_at < $4)
          GROUP BY 1`,
    options.modelId === undefined
      ? range
      : [unit, options.tenantId ?? null, days.from ?? null, days.to ?? null, options.modelId],
  );
  const daily = (groupBy === 'reasonCode' || groupBy === 'modelId') && NARROWING.every((f) => options[f] === undefined);
  const ends = daily
    ? await q.query<{ start: string; key: string; n: string }>(
        `SELECT ${BUCKET} AS start, key, sum(ends)::text AS n FROM rm_daily_ends
          WHERE dimension = $5 AND ${DAY_RANGE} GROUP BY 1, 2`,
        [...range, groupBy],
      )
    : await q.query<{ start: string; key: string; n: string }>(
        `SELECT to_char(date_trunc($9::text, (ended_at AT TIME ZONE 'UTC')::date::timestamp), 'YYYY-MM-DD') AS start,
                ${GROUP_KEY[groupBy]} AS key, count(*)::text AS n
           FROM rm_ends WHERE ${END_FILTER_SQL} GROUP BY 1, 2`,
        [...endFilterValues({ ...options, ...days }), unit],
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
