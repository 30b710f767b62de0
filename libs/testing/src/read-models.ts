import { isDeepStrictEqual } from 'node:util';
import type { Pool } from 'pg';
import type { PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, rebuildProjections } from '@app/projections';

/** `SELECT * FROM table ORDER BY <its primary key>`: a table's rows in an order that can be compared. */
export async function tableRows(pool: Pool, table: string): Promise<unknown[]> {
  const { rows: pk } = await pool.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [table],
  );
  if (pk.length === 0) throw new Error(`${table} has no primary key`);
  const { rows } = await pool.query(`SELECT * FROM ${table} ORDER BY ${pk.map((c) => `"${c.attname}"`).join(', ')}`);
  return rows;
}

/**
 * The read models as the live projections left them, against a rebuild of every projection from
 * the log (run when no projection is running any more). Returns the tables that differ.
 */
export async function readModelsDifferingFromRebuild(pool: Pool, store: PostgresEventStore): Promise<string[]> {
  const tables = ALL_PROJECTIONS.flatMap((p) => p.tables);
  const live = await Promise.all(tables.map((t) => tableRows(pool, t)));
  await rebuildProjections(pool, store, ALL_PROJECTIONS);
  const rebuilt = await Promise.all(tables.map((t) => tableRows(pool, t)));
  return tables.filter((_, i) => !isDeepStrictEqual(live[i], rebuilt[i]));
}
