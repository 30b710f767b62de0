// Helpers for the runner tests: a counting projection that fails loudly on a double apply,
// waiting for a projection to catch up, and ordered snapshots of read-model tables.
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { ThreadStatus } from '@app/conversation';
import type { PostgresEventStore } from '@app/event-store';
import { projectionLags } from '../src/lag';
import { type Batch, IN_BATCH_SQL, type Projection, rangeParams } from '../src/projection';
import { ProjectionRunner, RunnerOptions } from '../src/projection-runner';

/** Fast polling so the tests do not wait on the production defaults. */
export const FAST: RunnerOptions = { pollIntervalMs: 10, leaseRetryMs: 20, batchSize: 25 };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for `check` to hold, polling; fails with `what` after the timeout. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export async function lagOf(pool: Pool, name: string): Promise<number> {
  const [lag] = await projectionLags(pool, [name]);
  return lag.lagEvents;
}

/** Runs the projection until it has processed every committed event, then stops its runner. */
export async function catchUp(pool: Pool, store: PostgresEventStore, projection: Projection): Promise<void> {
  const runner = new ProjectionRunner(pool, store, projection, FAST);
  runner.start();
  try {
    await eventually(`${projection.name} to catch up`, async () => (await lagOf(pool, projection.name)) === 0);
  } finally {
    await runner.stop();
  }
}

/**
 * A projection that inserts each event id once (PRIMARY KEY: a second apply of an event fails
 * the batch) with the label of the runner that applied it, and keeps a running count.
 */
export class CountingProjection implements Projection<string[]> {
  readonly tables: string[];
  /** Set to hold the next batch in the middle of `apply`. */
  hold: Promise<void> | null = null;
  onHeld: (tx: PoolClient, eventIds: string[]) => void = () => undefined;

  constructor(
    readonly name: string,
    readonly label: string,
  ) {
    this.tables = [CountingProjection.table(name), CountingProjection.counts(name)];
  }

  static table(name: string): string {
    return `test_applied_${name.replace(/\W/g, '_')}`;
  }

  static counts(name: string): string {
    return `test_counts_${name.replace(/\W/g, '_')}`;
  }

  static async createTables(pool: Pool, name: string): Promise<void> {
    await pool.query(`CREATE TABLE ${CountingProjection.table(name)} (
      event_id uuid PRIMARY KEY, applied_by text NOT NULL, seq bigserial)`);
    await pool.query(
      `CREATE TABLE ${CountingProjection.counts(name)} (one boolean PRIMARY KEY DEFAULT true, n bigint NOT NULL)`,
    );
  }

  /** Writes half the batch, then (when held) waits, then writes the rest: a hold is mid-batch. */
  /** The batch's event ids in commit order. */
  async prepare(db: Pool | PoolClient, batch: Batch): Promise<string[]> {
    const { rows } = await db.query<{ event_id: string }>(
      `SELECT e.event_id FROM es_events e WHERE ${IN_BATCH_SQL} ORDER BY e.transaction_id, e.position`,
      rangeParams(batch),
    );
    return rows.map((r) => r.event_id);
  }

  async apply(tx: PoolClient, _batch: Batch, eventIds: string[]): Promise<void> {
    const half = Math.ceil(eventIds.length / 2);
    await this.insert(tx, eventIds.slice(0, half));
    const hold = this.hold;
    if (hold) {
      this.hold = null;
      this.onHeld(tx, eventIds);
      await hold;
    }
    await this.insert(tx, eventIds.slice(half));
    await tx.query(
      `INSERT INTO ${this.tables[1]} AS c (n) VALUES ($1) ON CONFLICT (one) DO UPDATE SET n = c.n + excluded.n`,
      [eventIds.length],
    );
  }

  private async insert(tx: PoolClient, eventIds: string[]): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.tables[0]} (event_id, applied_by) ` +
        'SELECT id, $2 FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, i) ORDER BY i',
      [eventIds, this.label],
    );
  }

  static async applied(pool: Pool, name: string): Promise<{ eventId: string; appliedBy: string }[]> {
    const { rows } = await pool.query<{ event_id: string; applied_by: string }>(
      `SELECT event_id, applied_by FROM ${CountingProjection.table(name)} ORDER BY seq`,
    );
    return rows.map((r) => ({ eventId: r.event_id, appliedBy: r.applied_by }));
  }

  static async count(pool: Pool, name: string): Promise<number> {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT coalesce(sum(n), 0)::text AS n FROM ${CountingProjection.counts(name)}`,
    );
    return Number(rows[0].n);
  }
}

/** Every event id in the store, in commit order. */
export async function allEventIds(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ event_id: string }>(
    'SELECT event_id FROM es_events ORDER BY transaction_id, position',
  );
  return rows.map((r) => r.event_id);
}

/** Appends `n` events of a type no read model knows, each in its own stream. */
export async function appendTicks(store: PostgresEventStore, n: number): Promise<string[]> {
  const results = await Promise.all(
    Array.from({ length: n }, () =>
      store.append(
        `tick-${randomUUID()}`,
        [{ eventId: randomUUID(), type: 'Tick', data: {}, metadata: {}, occurredAt: '2025-09-01T00:00:00.000Z' }],
        { expectedVersion: 'no_stream' },
      ),
    ),
  );
  return results.flatMap((r) => r.eventIds);
}

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The thread status as the read model holds it. */
export async function projectedStatus(
  pool: Pool,
  conversationId: string,
): Promise<ThreadStatus & { subjectId: string; modelId: string; startedAt: string | null }> {
  const { rows } = await pool.query('SELECT * FROM rm_conversations WHERE conversation_id = $1', [conversationId]);
  if (rows.length !== 1) throw new Error(`no rm_conversations row for ${conversationId}`);
  const r = rows[0];
  return {
    conversationId: r.conversation_id,
    tenantId: r.tenant_id,
    status: r.status,
    activeLeafMessageId: r.active_leaf_message_id,
    messageCount: r.message_count,
    branchCount: r.branch_count,
    redirectionCount: r.redirection_count,
    openRiskFlags: r.open_risk_flags,
    ends: r.ends,
    lastEventAt: iso(r.last_event_at),
    version: Number(r.version),
    subjectId: r.subject_id,
    modelId: r.model_id,
    startedAt: iso(r.started_at),
  };
}
