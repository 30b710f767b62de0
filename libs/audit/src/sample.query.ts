import { END_COLUMNS, END_FILTER_SQL, endFilterValues, EndFilters, EndItem, toEndItem } from './ends.query';
import { Queryable } from './queryable';

export const MAX_SAMPLE = 500;

/**
 * A reproducible random sample of ends: each end's rank is md5(seed ‖ its id), so the same seed
 * over the same ends gives the same sample, and a new end joins only where its hash falls.
 */
export async function sampleEnds(
  q: Queryable,
  filters: EndFilters,
  options: { size: number; seed: string },
): Promise<EndItem[]> {
  const size = Math.min(Math.max(Math.trunc(options.size), 1), MAX_SAMPLE);
  const { rows } = await q.query<Parameters<typeof toEndItem>[0]>(
    `SELECT ${END_COLUMNS} FROM rm_ends
      WHERE ${END_FILTER_SQL}
      ORDER BY md5($9::text || end_event_id::text) COLLATE "C", end_event_id
      LIMIT $10`,
    [...endFilterValues(filters), options.seed, size],
  );
  return rows.map(toEndItem);
}
