import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { ALL_PROJECTIONS, projectionLags, rebuildProjections } from '@app/projections';
import { UsageError } from '../args';
import { Progress } from '../progress';

/** `projections:status`: each projection's checkpoint and lag, as a table. */
export async function projectionsStatus(pool: Pool): Promise<void> {
  const lags = await projectionLags(
    pool,
    ALL_PROJECTIONS.map((p) => p.name),
  );
  const rows = lags.map((l) => [
    l.name,
    l.position,
    String(l.lagEvents),
    l.lagSeconds.toFixed(1),
    l.updatedAt ?? 'never',
  ]);
  const header = ['projection', 'checkpoint', 'lag events', 'lag s', 'updated'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

/** `projections:rebuild [name]`: one pass over the log into empty tables, with progress; prints the count. */
export async function projectionsRebuild(pool: Pool, name: string | undefined): Promise<void> {
  const chosen = name ? ALL_PROJECTIONS.filter((p) => p.name === name) : ALL_PROJECTIONS;
  if (chosen.length === 0) {
    throw new UsageError(`unknown projection "${name}"; one of ${ALL_PROJECTIONS.map((p) => p.name).join(', ')}`);
  }
  const store = new PostgresEventStore(pool);
  const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM es_events');
  const label = chosen.map((p) => p.name).join(', ');
  const progress = new Progress(`rebuilding ${label}`, Number(rows[0].n));
  let seen = 0;
  const total = await rebuildProjections(pool, store, chosen, (n) => {
    progress.tick(n - seen);
    seen = n;
  });
  progress.done();
  console.log(`rebuilt ${label} from ${total} events`);
}
