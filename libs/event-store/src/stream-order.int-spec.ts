import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { runMigrations } from '@app/platform';
import { APP_ROLE } from '../../../migrations/privileges';
import { APPEND_BODIES } from '../../../migrations/1764400500000-AppendFromCanonicalBodies';
import { createTestDatabase, TestDatabase, undoMigrationsThrough, untilWaitingOnLocks } from '@app/testing';
import {
  appendInTransaction,
  AppendResult,
  canonicalBody,
  NewEvent,
  parsePosition,
  PostgresEventStore,
  VersionConflict,
} from '@app/event-store';

const txOf = (r: AppendResult) => parsePosition(r.position).transactionId;

const event = (): NewEvent => ({
  eventId: randomUUID(),
  type: 'Happened',
  data: {},
  metadata: { actor: { type: 'user', id: 'u-1' }, tenantId: 't-1' },
  occurredAt: '2026-01-02T03:04:05.678Z',
});

/**
 * A stream's events read in version order in commit order (1764402800000-StreamOrderGuard), even
 * when a transaction that took its id early appends after a younger one has appended and committed.
 */
describe('stream order in commit order', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  /** The stream's versions in the order readers follow the log: (transaction_id, position). */
  const versionsInCommitOrder = async (streamId: string) =>
    (
      await db.pool.query<{ v: string }>(
        'SELECT stream_version AS v FROM es_events WHERE stream_id = $1 ORDER BY transaction_id, position',
        [streamId],
      )
    ).rows.map((r) => Number(r.v));

  const waitingOnLocks = (n: number) => untilWaitingOnLocks(db.pool, n);

  it("refuses a caller's transaction older than the stream's head (a conflict); its next one appends", async () => {
    const streamId = `order-${randomUUID()}`;
    await store.append(streamId, [event()], { expectedVersion: 'no_stream' });
    const early = await db.pool.connect();
    try {
      await early.query('BEGIN');
      await early.query('SELECT pg_current_xact_id()'); // takes its id now, as an erasure's first write does
      await store.append(streamId, [event()], { expectedVersion: 1 }); // a younger transaction, committed
      const refused = await appendInTransaction(early, streamId, [event()], { expectedVersion: 2 }).catch((e) => e);
      expect(refused).toBeInstanceOf(VersionConflict);
      expect(refused).toMatchObject({ actual: 2 });
      await early.query('ROLLBACK');
      await early.query('BEGIN');
      await appendInTransaction(early, streamId, [event()], { expectedVersion: 2 });
      await early.query('COMMIT');
    } finally {
      early.release();
    }
    expect(await versionsInCommitOrder(streamId)).toEqual([1, 2, 3]);
  });

  it('appends again alone what a batch could not append for its order; the batch’s others land', async () => {
    // ids in the order the batch locks them (stream id order): it waits on b while c is appended
    const [a, b, c] = ['a', 'b', 'c'].map((x) => `order-${x}-${randomUUID()}`);
    await Promise.all([a, b, c].map((id) => store.append(id, [event()], { expectedVersion: 'no_stream' })));
    const locker = await db.pool.connect();
    const other = new PostgresEventStore(db.pool);
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM es_streams WHERE stream_id = ANY ($1) FOR UPDATE', [[a, b]]);
      const alone = store.append(a, [event()], { expectedVersion: 1 }); // on its own, waits for a
      await waitingOnLocks(1);
      // while that one is in flight these two go out together, as one batch, which waits for b
      const batched = [
        store.append(b, [event()], { expectedVersion: 1 }),
        store.append(c, [event()], { expectedVersion: 'any' }),
      ];
      await waitingOnLocks(2);
      // the batch has its transaction id; a younger transaction appends to c and commits
      await other.append(c, [event()], { expectedVersion: 1 });
      await locker.query('COMMIT');
      const [ra, rb, rc] = await Promise.all([alone, ...batched]);
      expect([ra.lastVersion, rb.lastVersion, rc.lastVersion]).toEqual([2, 2, 3]);
      // c's went again in a transaction of its own, after the batch that took b's
      expect(txOf(rc)).not.toBe(txOf(rb));
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await other.close();
    }
    expect(await versionsInCommitOrder(c)).toEqual([1, 2, 3]);
    expect(await versionsInCommitOrder(b)).toEqual([1, 2]);
  });

  it('answers a conflict, not a retry, when the stream has moved past the version the append expects', async () => {
    const [b, c] = ['b', 'c'].map((x) => `order-${x}-${randomUUID()}`);
    await Promise.all([b, c].map((id) => store.append(id, [event()], { expectedVersion: 'no_stream' })));
    const locker = await db.pool.connect();
    const other = new PostgresEventStore(db.pool);
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM es_streams WHERE stream_id = $1 FOR UPDATE', [b]);
      const alone = store.append(b, [event()], { expectedVersion: 1 });
      await waitingOnLocks(1);
      const batched = [
        store.append(b, [event()], { expectedVersion: 2 }),
        store.append(c, [event()], { expectedVersion: 1 }),
      ];
      await waitingOnLocks(2);
      await other.append(c, [event()], { expectedVersion: 1 });
      await locker.query('COMMIT');
      const settled = await Promise.allSettled([alone, ...batched]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ actual: 2 });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await other.close();
    }
    expect(await versionsInCommitOrder(c)).toEqual([1, 2]);
    expect(await versionsInCommitOrder(b)).toEqual([1, 2, 3]);
  });

  it('takes no head id the server has not handed out for younger (a logical restore elsewhere)', async () => {
    const [a, b] = ['a', 'b'].map((x) => `order-${x}-${randomUUID()}`);
    await Promise.all([a, b].map((id) => store.append(id, [event()], { expectedVersion: 'no_stream' })));
    // ids of the cluster the rows came from, far past this one's
    await db.pool.query(`UPDATE es_streams SET head_tx = '9000000000000'::xid8 WHERE stream_id = ANY ($1)`, [[a, b]]);
    expect((await store.append(a, [event()], { expectedVersion: 1 })).lastVersion).toBe(2); // alone
    const batch = await Promise.all([
      store.append(b, [event()], { expectedVersion: 1 }),
      store.append(`order-c-${randomUUID()}`, [event()], { expectedVersion: 'no_stream' }),
    ]);
    expect(batch.map((r) => r.lastVersion)).toEqual([2, 1]);
  });

  it('tells a stream committed out of version order (as appends before the guard could leave it)', async () => {
    // the append function as it was before 1764402800000-StreamOrderGuard, under another name
    const unguarded = APPEND_BODIES.replace('CREATE FUNCTION es_append_bodies(', 'CREATE FUNCTION pg_temp.unguarded(');
    const streamId = `order-${randomUUID()}`;
    await store.append(streamId, [event()], { expectedVersion: 'no_stream' });
    const early = await db.pool.connect();
    try {
      await early.query(unguarded);
      await early.query('BEGIN');
      await early.query('SELECT pg_current_xact_id()');
      await store.append(streamId, [event()], { expectedVersion: 1 }); // v2, a younger transaction
      const e = event();
      const body = canonicalBody({
        streamId,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
        occurredAt: e.occurredAt,
      });
      await early.query('SELECT pg_temp.unguarded($1, 2, $2::uuid[], $3, NULL, NULL, NULL)', [
        streamId,
        [e.eventId],
        body,
      ]);
      await early.query('COMMIT');
    } finally {
      early.release(true);
    }
    expect(await versionsInCommitOrder(streamId)).toEqual([1, 3, 2]);
    // the chain holds; the stream reads out of version order
    expect(await store.verifyStream(streamId)).toEqual({ valid: true, count: 3, outOfCommitOrderAt: 3 });
  });

  it('migration StreamOrderGuard: down restores the functions before it, up guards again; both secured', async () => {
    const functions = async () =>
      (
        await db.pool.query<{
          proname: string;
          prosecdef: boolean;
          proconfig: string[];
          guarded: boolean;
          app: boolean;
        }>(
          `SELECT proname, prosecdef, proconfig, prosrc ~ 'head_tx' AS guarded,
                  has_function_privilege('${APP_ROLE}', oid, 'EXECUTE') AS app,
                  has_function_privilege('public', oid, 'EXECUTE') AS public
             FROM pg_proc WHERE proname LIKE 'es\\_append%' ORDER BY proname`,
        )
      ).rows.map((f) => ({ ...f, proconfig: f.proconfig.includes('search_path=pg_catalog, public, pg_temp') }));
    const headTx = async () =>
      (
        await db.pool.query(
          `SELECT 1 FROM information_schema.columns WHERE table_name = 'es_streams' AND column_name = 'head_tx'`,
        )
      ).rowCount === 1;
    const secured = { prosecdef: true, proconfig: true, app: true, public: false };
    const names = ['es_append_batch_bodies', 'es_append_bodies'];
    const guarded = async (yes: boolean) => {
      const found = await functions();
      expect(found.map((f) => f.proname)).toEqual(names);
      for (const f of found) expect(f).toMatchObject({ ...secured, guarded: yes });
      expect(await headTx()).toBe(yes);
    };
    // the service's login appends through them (EXECUTE only)
    const runtime = new Pool({ connectionString: db.runtimeUrl, max: 2 });
    const runtimeStore = new PostgresEventStore(runtime);
    const appendsAsRuntime = async () =>
      (await runtimeStore.append(`order-${randomUUID()}`, [event()], { expectedVersion: 'no_stream' })).lastVersion;
    try {
      await guarded(true);
      await undoMigrationsThrough(db.url, 'StreamOrderGuard1764402800000');
      await guarded(false);
      expect(await appendsAsRuntime()).toBe(1);
      await runMigrations(db.url);
      await guarded(true);
      expect(await appendsAsRuntime()).toBe(1);
    } finally {
      await runtimeStore.close();
      await runtime.end();
    }
  });
});
