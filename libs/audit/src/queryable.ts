import type { QueryResult, QueryResultRow } from 'pg';

/** A pool or one checked-out client (the export reads inside a snapshot transaction). */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** A keyset page: `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** Clamps a page size to 1..MAX_LIMIT (the API validates; the library never trusts). */
export const pageLimit = (limit: number | undefined): number =>
  Math.min(Math.max(Math.trunc(limit ?? DEFAULT_LIMIT), 1), MAX_LIMIT);

/** An ISO time (or null) as PostgreSQL's timestamptz parameter. */
export const isoOrNull = (value: string | undefined): string | null =>
  value === undefined ? null : new Date(value).toISOString();

/** Full-precision UTC text of a timestamptz column, for keyset cursors (JS Dates keep milliseconds only). */
export const exactTime = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
