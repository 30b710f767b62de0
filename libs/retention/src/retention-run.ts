import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { appendInTransaction, newEventId, VersionConflict } from '@app/event-store';
import { eraseConversationInTransaction, type ErasureOrder, lockSubject, openHolds } from '@app/privacy';
import { inTransaction, RETENTION_RUN_COMPLETED, RETENTION_RUN_STARTED, retentionStreamId } from './retention-settings';

const DAY_MS = 86_400_000;

/** The lease of the retention job: one runner at a time across every process (a session advisory lock). */
export const RETENTION_LEASE_KEY = 1764402300;

/** Who erases when retention does: recorded in every ContentErased and run event. */
export const RETENTION_ACTOR = { type: 'system', id: 'retention' } as const;

/** What happened to one due conversation. */
export interface ConversationOutcome {
  tenantId: string;
  conversationId: string;
  /** erased: key destroyed and ContentErased appended; held: an open legal hold kept it; gone: no longer due. */
  outcome: 'erased' | 'held' | 'gone';
  plaintextFields: number;
}

/** One tenant's run, as its RetentionRunCompleted event records it. */
export interface TenantRun {
  runId: string;
  tenantId: string;
  days: number;
  /** Conversations whose last event is older than this were due. */
  cutoff: string;
  erased: number;
  skippedHeld: number;
  /** Sealed fields of the erased conversations stored before encryption: destroying a key does not erase them. */
  plaintextFields: number;
}

export type RetentionRunResult = { state: 'ran'; tenants: TenantRun[] } | { state: 'busy' };

/**
 * Some tenants' runs failed (each stopped at its failure; the next run resumes there). The other
 * tenants' runs went on: one tenant's trouble never holds back another's retention.
 */
export class RetentionRunFailed extends Error {
  constructor(
    readonly failures: { tenantId: string; error: Error }[],
    readonly completed: TenantRun[],
  ) {
    super(failures.map((f) => `retention run of tenant ${f.tenantId} failed: ${f.error.message}`).join('; '));
  }
}

export interface RetentionRunOptions {
  /** Conversations looked up per query (each is erased in its own transaction). */
  batchSize?: number;
  /** Only this tenant (it must have a setting). */
  tenantId?: string;
  /**
   * Skip a tenant whose last run (by any process) started less than this long ago: several
   * processes share one schedule. The CLI's `retention:run` always runs.
   */
  minGapMs?: number;
  /** Called after each conversation's transaction ended (progress; throwing stops the run there). */
  onConversation?: (outcome: ConversationOutcome) => void | Promise<void>;
  /** Called when a tenant's run starts and when it completes. */
  onTenant?: (event: 'started' | 'completed', run: TenantRun) => void;
  /** Asked between conversations: true stops the run (a process shutting down); the rest waits for the next. */
  shouldStop?: () => boolean;
}

interface Due {
  conversationId: string;
  subjectId: string;
}

/**
 * Live content keys of the tenant's conversations whose last event (the stream head's event in
 * the log, its occurred_at: the service's clock when it was appended) is older than the cutoff.
 * Read from the log itself, never from a read model that may lag. Keyset by conversation id, so
 * a held conversation is passed once per run.
 */
const DUE_SQL = `
  SELECT k.conversation_id::text AS "conversationId", k.subject_id AS "subjectId"
    FROM content_keys k
   CROSS JOIN LATERAL (
         -- one index lookup per key, in conversation order (LIMIT 1 keeps the planner from a join over the log)
         SELECT e.occurred_at
           FROM es_streams s
           JOIN es_events e ON e.stream_id = s.stream_id AND e.stream_version = s.version
          WHERE s.stream_id = 'conversation-' || k.conversation_id::text
          LIMIT 1) last
   WHERE k.tenant_id = $1 AND k.destroyed_at IS NULL AND k.conversation_id > $3 AND last.occurred_at < $2
   ORDER BY k.conversation_id
   LIMIT $4`;

/**
 * The same test for one conversation, under the subject's lock, locking its key row; with the
 * stream's version it was judged at, which the erasure appends after: anything appended since
 * makes that append a VersionConflict (not due: written to). An append that committed before
 * moved the head it is judged by.
 */
const STILL_DUE_SQL = `
  SELECT k.key_id, s.version
    FROM content_keys k
    JOIN es_streams s ON s.stream_id = 'conversation-' || k.conversation_id::text
    JOIN es_events e ON e.stream_id = s.stream_id AND e.stream_version = s.version
   WHERE k.conversation_id = $1 AND k.tenant_id = $2 AND k.destroyed_at IS NULL AND e.occurred_at < $3
     FOR UPDATE OF k`;

/**
 * One retention run over every tenant with a setting (or the one asked for), holding the job's
 * lease: a second runner anywhere gets `busy` and does nothing. Per tenant: RetentionRunStarted,
 * then each due conversation in a transaction of its own (subject lock; an open hold skips it,
 * counted; else its key is destroyed and ContentErased appended), then RetentionRunCompleted
 * with the counts. Idempotent and resumable: a conversation whose key is gone is no longer due,
 * so a run that dies midway leaves exactly the rest for the next run. Needs no master key.
 */
export async function runRetention(pool: Pool, options: RetentionRunOptions = {}): Promise<RetentionRunResult> {
  const lease = await pool.connect();
  let broken: Error | undefined;
  const lost = (err: Error) => (broken = err);
  lease.on('error', lost);
  try {
    const { rows } = await lease.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RETENTION_LEASE_KEY]);
    if (!rows[0].ok) return { state: 'busy' };
    try {
      const tenants: TenantRun[] = [];
      const failures: { tenantId: string; error: Error }[] = [];
      for (const setting of await settingsToRun(lease, options)) {
        if (options.shouldStop?.()) break;
        try {
          const run = await runTenant(pool, setting, options);
          if (run) tenants.push(run);
        } catch (err) {
          failures.push({ tenantId: setting.tenantId, error: err as Error });
        }
      }
      if (failures.length > 0) throw new RetentionRunFailed(failures, tenants);
      return { state: 'ran', tenants };
    } finally {
      await lease.query('SELECT pg_advisory_unlock($1)', [RETENTION_LEASE_KEY]).catch((err: Error) => (broken = err));
    }
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    lease.removeListener('error', lost);
    // A connection that failed ends its session (and any lease with it) rather than going back to the pool.
    lease.release(broken ?? false);
  }
}

async function settingsToRun(
  q: PoolClient,
  options: Pick<RetentionRunOptions, 'tenantId' | 'minGapMs'>,
): Promise<{ tenantId: string; days: number }[]> {
  const { rows } = await q.query<{ tenantId: string; days: number }>(
    `SELECT tenant_id AS "tenantId", days FROM retention_settings
      WHERE days IS NOT NULL AND ($1::text IS NULL OR tenant_id = $1)
        AND ($2::float8 IS NULL OR last_run_at IS NULL OR last_run_at < now() - make_interval(secs => $2))
      ORDER BY tenant_id COLLATE "C"`,
    [options.tenantId ?? null, options.minGapMs === undefined ? null : options.minGapMs / 1000],
  );
  return rows;
}

async function runTenant(
  pool: Pool,
  setting: { tenantId: string; days: number },
  options: RetentionRunOptions,
): Promise<TenantRun | undefined> {
  const started = new Date();
  const cutoff = new Date(started.getTime() - setting.days * DAY_MS);
  const run: TenantRun = {
    runId: randomUUID(),
    tenantId: setting.tenantId,
    days: setting.days,
    cutoff: cutoff.toISOString(),
    erased: 0,
    skippedHeld: 0,
    plaintextFields: 0,
  };
  const { erased: _e, skippedHeld: _s, plaintextFields: _p, ...startFacts } = run;
  await appendRunEvent(pool, RETENTION_RUN_STARTED, startFacts, setting.tenantId, started, async (c) => {
    await c.query(`UPDATE retention_settings SET last_run_at = $2 WHERE tenant_id = $1`, [setting.tenantId, started]);
  });
  options.onTenant?.('started', run);

  const batchSize = options.batchSize ?? 500;
  const order: ErasureOrder = {
    erasureId: run.runId,
    scope: 'retention',
    reason: `retention: ${setting.days} days`,
    actor: { ...RETENTION_ACTOR },
    tenantId: setting.tenantId,
  };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await pool.query<Due>(DUE_SQL, [setting.tenantId, cutoff, after, batchSize]);
    for (const due of rows) {
      if (options.shouldStop?.()) return undefined;
      const outcome = await eraseIfDue(pool, due, cutoff, order);
      if (outcome.outcome === 'erased') {
        run.erased++;
        run.plaintextFields += outcome.plaintextFields;
      } else if (outcome.outcome === 'held') run.skippedHeld++;
      await options.onConversation?.(outcome);
    }
    if (rows.length < batchSize) break;
    after = rows[rows.length - 1].conversationId;
  }

  await appendRunEvent(pool, RETENTION_RUN_COMPLETED, { ...run }, setting.tenantId, new Date());
  options.onTenant?.('completed', run);
  return run;
}

async function eraseIfDue(pool: Pool, due: Due, cutoff: Date, order: ErasureOrder): Promise<ConversationOutcome> {
  try {
    return await eraseIfStillDue(pool, due, cutoff, order);
  } catch (err) {
    // Written to while it was being erased: its last event is new, so it is no longer due.
    if (err instanceof VersionConflict)
      return { tenantId: order.tenantId, conversationId: due.conversationId, plaintextFields: 0, outcome: 'gone' };
    throw err;
  }
}

async function eraseIfStillDue(pool: Pool, due: Due, cutoff: Date, order: ErasureOrder): Promise<ConversationOutcome> {
  return inTransaction(pool, async (c) => {
    const base = { tenantId: order.tenantId, conversationId: due.conversationId, plaintextFields: 0 };
    await lockSubject(c, order.tenantId, due.subjectId);
    // Under the lock: erased meanwhile (by an erasure or another runner) or written to since: not due.
    const still = await c.query<{ version: string }>(STILL_DUE_SQL, [due.conversationId, order.tenantId, cutoff]);
    if (still.rows.length === 0) return { ...base, outcome: 'gone' };
    if ((await openHolds(c, order.tenantId, due.subjectId)).length > 0) return { ...base, outcome: 'held' };
    const erased = await eraseConversationInTransaction(c, due.conversationId, order, new Date(), {
      seenVersion: Number(still.rows[0].version),
    });
    return { ...base, outcome: 'erased', plaintextFields: erased.plaintextFields };
  });
}

async function appendRunEvent(
  pool: Pool,
  type: string,
  data: Record<string, unknown>,
  tenantId: string,
  at: Date,
  alsoInTransaction?: (c: PoolClient) => Promise<void>,
): Promise<void> {
  await inTransaction(pool, async (c) => {
    await alsoInTransaction?.(c);
    await appendInTransaction(
      c,
      retentionStreamId(tenantId),
      [
        {
          eventId: newEventId(),
          type,
          data,
          metadata: { actor: { ...RETENTION_ACTOR }, tenantId },
          occurredAt: at.toISOString(),
        },
      ],
      { expectedVersion: 'any' },
    );
  });
}
