import { isoOrNull, Queryable } from './queryable';

export interface ReviewStatsOptions {
  tenantId?: string;
  /** Reviews made in [from, to). */
  from?: string;
  to?: string;
}

export interface ReviewRate {
  key: string;
  reviewed: number;
  upheld: number;
  overturned: number;
  reclassified: number;
  /** overturned / reviewed. */
  overturnRate: number;
}

export interface ReviewStats {
  /** Per end reason and model: each reviewed end counted once, with its latest outcome. */
  byReasonCode: ReviewRate[];
  byModelId: ReviewRate[];
  /** Per reviewer (API key id): every review they made. */
  byReviewer: ReviewRate[];
}

interface RateRow {
  key: string | null;
  reviewed: string;
  upheld: string;
  overturned: string;
  reclassified: string;
}

const COUNTS = `count(*)::text AS reviewed,
  count(*) FILTER (WHERE outcome = 'upheld')::text AS upheld,
  count(*) FILTER (WHERE outcome = 'overturned')::text AS overturned,
  count(*) FILTER (WHERE outcome = 'reclassified')::text AS reclassified`;

const toRate = (r: RateRow): ReviewRate => {
  const reviewed = Number(r.reviewed);
  const overturned = Number(r.overturned);
  return {
    key: r.key ?? '(none)',
    reviewed,
    upheld: Number(r.upheld),
    overturned,
    reclassified: Number(r.reclassified),
    overturnRate: reviewed > 0 ? Math.round((overturned / reviewed) * 10_000) / 10_000 : 0,
  };
};

/** Review outcomes, overturn rate by reason, model and reviewer (DOMAIN question 7). */
export async function reviewStats(q: Queryable, options: ReviewStatsOptions): Promise<ReviewStats> {
  const values = [options.tenantId ?? null, isoOrNull(options.from), isoOrNull(options.to)];
  const endsBy = (column: 'reason_code' | 'model_id') =>
    q.query<RateRow>(
      `SELECT ${column} AS key, ${COUNTS}
         FROM (SELECT ${column}, review_outcome AS outcome FROM rm_ends
                WHERE review_outcome IS NOT NULL
                  AND ($1::text IS NULL OR tenant_id = $1)
                  AND ($2::timestamptz IS NULL OR reviewed_at >= $2)
                  AND ($3::timestamptz IS NULL OR reviewed_at < $3)) e
        GROUP BY 1 ORDER BY 1`,
      values,
    );
  const byReason = await endsBy('reason_code');
  const byModel = await endsBy('model_id');
  const byReviewer = await q.query<RateRow>(
    `SELECT reviewer_id AS key, ${COUNTS} FROM rm_reviews
      WHERE ($1::text IS NULL OR tenant_id = $1)
        AND ($2::timestamptz IS NULL OR reviewed_at >= $2)
        AND ($3::timestamptz IS NULL OR reviewed_at < $3)
      GROUP BY 1 ORDER BY 1`,
    values,
  );
  return {
    byReasonCode: byReason.rows.map(toRate),
    byModelId: byModel.rows.map(toRate),
    byReviewer: byReviewer.rows.map(toRate),
  };
}
