import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { ContentKeys, readableEvents, readMasterKeyRing } from '@app/privacy';
import { ALL_PROJECTIONS, projectionLags } from '@app/projections';
import { readModelsDifferingFromRebuild } from '@app/testing';
import { SEQUENCER_NAME } from '@app/transparency';
import type { Ack, Attempt } from './load';
import { contentKeyFile, Database, runCli } from './processes';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * A pool of the owner's connections for the checks. An idle client may still be closing when the
 * scenario's cluster shuts down right after: the server's "terminating connection" then reaches
 * the pool as an 'error' event, harmless here (queries still fail on their own promises).
 */
function ownerPool(db: Database, max: number): Pool {
  const pool = new Pool({ connectionString: db.url, max });
  pool.on('error', () => undefined);
  return pool;
}

/** What the store holds of a scenario's messages, against what the clients were told. */
export interface StoreCheck {
  stored: number;
  /** Acknowledged messages not in the store, or stored under another id than acknowledged. */
  lost: string[];
  /** Contents stored more than once, and idempotency keys claimed for more than one event. */
  duplicated: string[];
}

/** A scenario's messages as stored, their content opened with the suite's master key (it is sealed). */
async function storedMessages(
  pool: Pool,
  scenario: string,
): Promise<{ content: string; messageId: string; recordedAt: number }[]> {
  const { rows } = await pool.query<{ event_id: string; data: Record<string, unknown>; at: number }>(
    `SELECT event_id, data, (extract(epoch FROM recorded_at) * 1000)::float8 AS at
       FROM es_events WHERE type = 'MessageAppended'`,
  );
  const keys = new ContentKeys(pool, readMasterKeyRing(contentKeyFile()));
  const opened = await readableEvents(
    keys,
    rows.map((r) => ({ eventId: r.event_id, type: 'MessageAppended', data: r.data, at: Number(r.at) })),
  );
  return opened
    .map((e) => ({ content: String(e.data.content), messageId: String(e.data.messageId), recordedAt: e.at }))
    .filter((m) => m.content.startsWith(`faults ${scenario} `));
}

export async function checkStore(db: Database, scenario: string, acks: Ack[]): Promise<StoreCheck> {
  const pool = ownerPool(db, 1);
  try {
    const rows = await storedMessages(pool, scenario);
    const count = new Map<string, number>();
    for (const r of rows) count.set(r.content, (count.get(r.content) ?? 0) + 1);
    const byContent = new Map(rows.map((r) => [r.content, r]));
    const lost = acks.filter((a) => byContent.get(a.content)?.messageId !== a.messageId).map((a) => a.key);
    const duplicated = [...count].filter(([, n]) => n > 1).map(([content]) => content);
    const { rows: keys } = await pool.query<{ key: string }>(
      `SELECT key FROM es_idempotency WHERE key LIKE $1 AND cardinality(event_ids) <> 1`,
      [`faults-${scenario}-%`],
    );
    duplicated.push(...keys.filter((k) => !k.key.endsWith('-start')).map((k) => `key ${k.key}`));
    return { stored: rows.length, lost, duplicated };
  } finally {
    await pool.end();
  }
}

/**
 * Acknowledged messages committed by an earlier attempt than the one acknowledged: the commit was
 * durable but its answer never reached the client (an error or a timeout instead), and the
 * client's retry with the same key was answered from the idempotency record. Told by the event's
 * recorded_at (its transaction's start, the same clock as the clients') being earlier than the
 * acknowledged attempt was sent.
 */
export async function answersLostAfterCommit(
  db: Database,
  scenario: string,
  acks: Ack[],
  attempts: Attempt[],
): Promise<number> {
  const sent = new Map<string, number>();
  for (const a of attempts) if (a.status >= 200 && a.status < 300) sent.set(a.key, a.sentAt);
  const pool = ownerPool(db, 1);
  try {
    const recorded = new Map((await storedMessages(pool, scenario)).map((m) => [m.content, m.recordedAt]));
    return acks.filter((a) => (recorded.get(a.content) ?? Infinity) < (sent.get(a.key) ?? -Infinity)).length;
  } finally {
    await pool.end();
  }
}

/** `verify` of the CLI (every stream's hash chain recomputed): its last line, and whether it passed. */
export async function verifyChains(db: Database): Promise<{ ok: boolean; line: string }> {
  const { code, out, err } = await runCli(db, ['verify']);
  const line = (out.trim().split('\n').at(-1) ?? '') || err.trim().split('\n').at(-1) || '';
  return { ok: code === 0 && /^ok \d+ events/.test(line), line };
}

const NAMES = [...ALL_PROJECTIONS.map((p) => p.name), SEQUENCER_NAME];

/** Waits until every projection's checkpoint (the sequencer's too) is at the log's head. */
export async function waitForProjections(db: Database, timeoutMs: number): Promise<{ ok: boolean; behind: number }> {
  const pool = ownerPool(db, 1);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const behind = Math.max(...(await projectionLags(pool, NAMES)).map((l) => l.lagEvents));
      if (behind === 0 || Date.now() > deadline) return { ok: behind === 0, behind };
      await sleep(200);
    }
  } finally {
    await pool.end();
  }
}

/**
 * The read models as the live projections left them, against a rebuild of every projection from
 * the log (run with no service left running). Returns the tables that differ.
 */
export async function readModelsEqualRebuild(db: Database): Promise<string[]> {
  const pool = ownerPool(db, 12);
  const store = new PostgresEventStore(pool);
  try {
    return await readModelsDifferingFromRebuild(pool, store);
  } finally {
    await store.close();
    await pool.end();
  }
}

/** The transparency log against the store: one leaf per event, leaf indexes 0..n-1 with no gap or double. */
export interface TlogCheck {
  ok: boolean;
  events: number;
  leaves: number;
  /** Distinct leaf indexes, and the lowest and highest (-1 with no leaf). */
  distinct: number;
  min: number;
  max: number;
  /** Events in no leaf range or in more than one. */
  notOnce: number;
  /** Ranges whose leaf count is not the number of events from their first to their last. */
  miscounted: number;
}

/** The leaves of tlog_ranges against es_events (TlogCheck without `ok`), as the owner sees them. */
export async function tlogLeavesOf(pool: Pool): Promise<Omit<TlogCheck, 'ok'>> {
  const { rows } = await pool.query<Omit<TlogCheck, 'ok'>>(
    `WITH leaf AS (SELECT r.first_leaf + k AS leaf_index FROM tlog_ranges r, generate_series(0, r.leaves - 1) AS k)
     SELECT (SELECT count(*)::int FROM es_events) AS events,
            count(*)::int AS leaves,
            count(DISTINCT leaf_index)::int AS distinct,
            coalesce(min(leaf_index), -1)::int AS min,
            coalesce(max(leaf_index), -1)::int AS max,
            (SELECT count(*)::int FROM es_events e
              WHERE (SELECT count(*) FROM tlog_ranges r
                      WHERE (e.transaction_id, e.position) >= (r.first_transaction_id, r.first_position)
                        AND (e.transaction_id, e.position) <= (r.last_transaction_id, r.last_position)) <> 1)
              AS "notOnce",
            (SELECT count(*)::int FROM tlog_ranges r
              WHERE r.leaves <> (SELECT count(*) FROM es_events e
                                  WHERE (e.transaction_id, e.position) >= (r.first_transaction_id, r.first_position)
                                    AND (e.transaction_id, e.position) <= (r.last_transaction_id, r.last_position)))
              AS miscounted
       FROM leaf`,
  );
  return rows[0];
}

export async function checkTlogLeaves(db: Database): Promise<TlogCheck> {
  const pool = ownerPool(db, 1);
  try {
    const r = await tlogLeavesOf(pool);
    const ok =
      r.leaves === r.events &&
      r.distinct === r.leaves &&
      r.min === (r.leaves ? 0 : -1) &&
      r.max === r.leaves - 1 &&
      r.notOnce === 0 &&
      r.miscounted === 0;
    return { ok, ...r };
  } finally {
    await pool.end();
  }
}
