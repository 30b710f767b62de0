import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import {
  ContentKeys,
  eraseConversationInTransaction,
  LocalMasterKey,
  lockSubject,
  masterKeyRing,
  sealData,
} from '@app/privacy';
import { createTestDatabase, type TestDatabase, untilWaitingOnLocks } from '@app/testing';
import { RETENTION_LEASE_KEY, RetentionRunFailed, runRetention, type TenantRun } from './retention-run';
import { RetentionScheduler } from './retention-scheduler';
import {
  inTransaction,
  listRetention,
  parseRetentionDays,
  RetentionInputError,
  retentionStreamId,
  setRetention,
  validateTenantId,
} from './retention-settings';

const DAY_MS = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY_MS);
const by = { actor: { type: 'operator' as const, id: 'ops-anna' }, osUser: 'anna', host: 'h1' };

/** The retention job on a real database, as the runtime login (its rights, no master key). */
describe('retention', () => {
  let db: TestDatabase;
  let runtime: Pool;
  let store: PostgresEventStore;
  const ring = masterKeyRing(new LocalMasterKey(randomBytes(32)));
  let keys: ContentKeys;

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 10 });
    store = new PostgresEventStore(db.pool);
    keys = new ContentKeys(runtime, ring);
  });
  afterAll(async () => {
    await store.close().catch(() => undefined);
    await runtime.end();
    await db.drop();
  });

  /** A conversation with one sealed message; its last event at `lastAt` (or `at`). */
  async function conversation(tenantId: string, at: Date, options: { subjectId?: string; lastAt?: Date } = {}) {
    const id = randomUUID();
    const subjectId = options.subjectId ?? `s-${randomUUID()}`;
    const metadata = { tenantId, actor: { type: 'user', id: subjectId } };
    const key = await keys.liveKey({ conversationId: id, tenantId, subjectId });
    const message = {
      eventId: randomUUID(),
      type: 'MessageAppended',
      data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: `secret of ${id}` },
    };
    await store.append(
      `conversation-${id}`,
      [
        {
          eventId: randomUUID(),
          type: 'ConversationStarted',
          data: { conversationId: id, tenantId, subjectId, modelId: 'm-1' },
          metadata,
          occurredAt: at.toISOString(),
        },
        { ...message, data: sealData(key, message), metadata, occurredAt: (options.lastAt ?? at).toISOString() },
      ],
      { expectedVersion: 'no_stream' },
    );
    return { id, subjectId };
  }

  const erasures = async (conversationId: string) =>
    (
      await db.pool.query(
        `SELECT data FROM es_events WHERE stream_id = $1 AND type = 'ContentErased' ORDER BY position`,
        [`conversation-${conversationId}`],
      )
    ).rows.map((r) => r.data);
  const liveKey = async (conversationId: string) =>
    (
      await db.pool.query(`SELECT 1 FROM content_keys WHERE conversation_id = $1 AND destroyed_at IS NULL`, [
        conversationId,
      ])
    ).rows.length === 1;
  const retentionEvents = async (tenantId: string) =>
    (
      await db.pool.query(`SELECT type, data, metadata FROM es_events WHERE stream_id = $1 ORDER BY stream_version`, [
        retentionStreamId(tenantId),
      ])
    ).rows;
  const hold = async (tenantId: string, subjectId: string) => {
    const holdId = randomUUID();
    await db.pool.query(
      `INSERT INTO subject_holds (hold_id, tenant_id, subject_id, reason, placed_at, placed_by)
       VALUES ($1, $2, $3, 'litigation', now(), 'ops-anna')`,
      [holdId, tenantId, subjectId],
    );
    return holdId;
  };
  const release = (holdId: string) =>
    db.pool.query(`UPDATE subject_holds SET released_at = now(), released_by = 'ops-anna' WHERE hold_id = $1`, [
      holdId,
    ]);
  const lockWaiters = (n: number) => untilWaitingOnLocks(db.pool, n);

  /** A new event of the conversation, now (plain: its content does not matter here). */
  const message = (tenantId: string, subjectId: string) => ({
    eventId: randomUUID(),
    type: 'WarningIssued',
    data: { warningId: randomUUID(), kind: 'x' },
    metadata: { tenantId, actor: { type: 'user', id: subjectId } },
    occurredAt: new Date().toISOString(),
  });
  const tenantRun = (result: Awaited<ReturnType<typeof runRetention>>, tenantId: string): TenantRun | undefined =>
    result.state === 'ran' ? result.tenants.find((t) => t.tenantId === tenantId) : undefined;

  describe('settings', () => {
    it('given retention:set, then its event and row are recorded together, and --off records null', async () => {
      const set = await setRetention(runtime, { tenantId: 'Set-1', days: 90, by });
      expect(set).toMatchObject({ tenantId: 'Set-1', days: 90, setBy: 'ops-anna' });
      const off = await setRetention(runtime, { tenantId: 'Set-1', days: null, by });
      const events = await retentionEvents('Set-1');
      expect(events.map((e) => [e.type, e.data])).toEqual([
        ['RetentionSet', { tenantId: 'Set-1', days: 90 }],
        ['RetentionSet', { tenantId: 'Set-1', days: null }],
      ]);
      expect(events[0].metadata).toEqual({ ...by, tenantId: 'Set-1' });
      expect((await listRetention(runtime)).find((s) => s.tenantId === 'Set-1')).toMatchObject({
        days: null,
        setBy: 'ops-anna',
      });
      const { rows } = await db.pool.query(`SELECT event_id FROM retention_settings WHERE tenant_id = 'Set-1'`);
      expect(rows[0].event_id).toBe(off.eventId);
      expect(set.eventId).not.toBe(off.eventId);
    });

    it('given tenants differing only in case, then each keeps its own setting (one stream)', async () => {
      await setRetention(runtime, { tenantId: 'Case-T', days: 5, by });
      await setRetention(runtime, { tenantId: 'case-t', days: 7, by });
      const list = await listRetention(runtime);
      expect(list.filter((s) => s.tenantId.toLowerCase() === 'case-t').map((s) => [s.tenantId, s.days])).toEqual([
        ['Case-T', 5],
        ['case-t', 7],
      ]);
      expect((await retentionEvents('case-t')).map((e) => e.data.tenantId)).toEqual(['Case-T', 'case-t']);
    });

    it.each(
      ['0', '36501', '-1', '1.5', '1e3', '', ' ', 'ninety', '0x10', '9'.repeat(400)].map((d) => [d.slice(0, 12), d]),
    )('given --days %j, then it is refused naming --days', (_shown, days) => {
      expect(() => parseRetentionDays(days)).toThrow(RetentionInputError);
      expect(() => parseRetentionDays(days)).toThrow(/^--days /);
    });

    it.each(['*', '', 'a b', 'x'.repeat(65), '-a', 'é', 'a\nb'])('given --tenant %j, then it is refused', (tenant) => {
      expect(() => validateTenantId(tenant)).toThrow(/^--tenant /);
    });

    it('given days out of range through the library, then nothing is written', async () => {
      await expect(setRetention(runtime, { tenantId: 'Bad-1', days: 0, by })).rejects.toThrow(RetentionInputError);
      await expect(setRetention(runtime, { tenantId: 'Bad-1', days: 36_501, by })).rejects.toThrow(/--days/);
      expect(await retentionEvents('Bad-1')).toEqual([]);
      expect((await listRetention(runtime)).some((s) => s.tenantId === 'Bad-1')).toBe(false);
    });

    it('given the database, then it refuses days out of range whoever writes the row', async () => {
      await expect(
        db.pool.query(
          `INSERT INTO retention_settings (tenant_id, days, set_at, set_by, event_id) VALUES ('x', 0, now(), 'a', $1)`,
          [randomUUID()],
        ),
      ).rejects.toThrow(/check/);
    });
  });

  describe('runs', () => {
    it('given 30 days, then exactly the due conversations are erased, held ones skipped and counted', async () => {
      const T = 'Run-A';
      await setRetention(runtime, { tenantId: T, days: 30, by });
      const old = await conversation(T, daysAgo(40));
      const heldSubject = `held-${randomUUID()}`;
      const held = await conversation(T, daysAgo(45), { subjectId: heldSubject });
      const fresh = await conversation(T, daysAgo(1));
      const revived = await conversation(T, daysAgo(60), { lastAt: daysAgo(2) });
      const otherTenant = await conversation('Run-Other', daysAgo(400));
      const otherCase = await conversation('run-a', daysAgo(400));
      const holdId = await hold(T, heldSubject);

      const first = tenantRun(await runRetention(runtime, { tenantId: T }), T)!;
      expect(first).toMatchObject({ tenantId: T, days: 30, erased: 1, skippedHeld: 1, plaintextFields: 0 });
      expect(await liveKey(old.id)).toBe(false);
      for (const c of [held, fresh, revived, otherTenant, otherCase]) expect(await liveKey(c.id)).toBe(true);
      expect(await erasures(old.id)).toEqual([
        {
          erasureId: first.runId,
          scope: 'retention',
          reason: 'retention: 30 days',
          actor: { type: 'system', id: 'retention' },
          keyIds: [expect.any(String)],
          plaintextFields: 0,
        },
      ]);
      for (const c of [held, fresh, revived, otherTenant, otherCase]) expect(await erasures(c.id)).toEqual([]);

      const runEvents = (await retentionEvents(T)).filter((e) => e.data.runId === first.runId);
      expect(runEvents.map((e) => e.type)).toEqual(['RetentionRunStarted', 'RetentionRunCompleted']);
      expect(runEvents[1].data).toEqual({ ...first });
      expect(runEvents[1].metadata).toEqual({ actor: { type: 'system', id: 'retention' }, tenantId: T });
      expect(Date.parse(first.cutoff)).toBeLessThan(daysAgo(30).getTime() + 60_000);

      await release(holdId);
      const second = tenantRun(await runRetention(runtime, { tenantId: T }), T)!;
      expect(second).toMatchObject({ erased: 1, skippedHeld: 0 });
      expect(await liveKey(held.id)).toBe(false);
      expect(await erasures(held.id)).toHaveLength(1);
    });

    it('given a run twice, then the second erases nothing and appends no ContentErased', async () => {
      const T = 'Twice';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const due = await Promise.all([1, 2, 3].map(() => conversation(T, daysAgo(20))));
      expect(tenantRun(await runRetention(runtime, { tenantId: T }), T)?.erased).toBe(3);
      const count = async () =>
        Number(
          (await db.pool.query(`SELECT count(*)::int AS n FROM es_events WHERE type = 'ContentErased'`)).rows[0].n,
        );
      const before = await count();
      expect(tenantRun(await runRetention(runtime, { tenantId: T }), T)).toMatchObject({ erased: 0, skippedHeld: 0 });
      expect(await count()).toBe(before);
      for (const c of due) expect(await erasures(c.id)).toHaveLength(1);
    });

    it('given a run dying after 2 conversations, then a rerun erases the rest, each exactly once', async () => {
      const T = 'Crash';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const due = await Promise.all([1, 2, 3, 4, 5].map(() => conversation(T, daysAgo(11))));
      let done = 0;
      await expect(
        runRetention(runtime, {
          tenantId: T,
          batchSize: 2,
          onConversation: () => {
            if (++done === 2) throw new Error('power cut');
          },
        }),
      ).rejects.toThrow('power cut');
      const erasedBefore = (await Promise.all(due.map((c) => liveKey(c.id)))).filter((live) => !live).length;
      expect(erasedBefore).toBe(2);

      const rerun = tenantRun(await runRetention(runtime, { tenantId: T, batchSize: 2 }), T)!;
      expect(rerun.erased).toBe(3);
      for (const c of due) {
        expect(await liveKey(c.id)).toBe(false);
        expect(await erasures(c.id)).toHaveLength(1);
      }
      const types = (await retentionEvents(T)).map((e) => e.type);
      expect(types).toEqual(['RetentionSet', 'RetentionRunStarted', 'RetentionRunStarted', 'RetentionRunCompleted']);
    });

    it('given one tenant whose run fails, then the other tenants are still run and the failure names it', async () => {
      await setRetention(runtime, { tenantId: 'Fail-A', days: 10, by });
      await setRetention(runtime, { tenantId: 'Fail-B', days: 10, by });
      const a = await conversation('Fail-A', daysAgo(11));
      const b = await conversation('Fail-B', daysAgo(11));
      const failing = runRetention(runtime, {
        onConversation: ({ tenantId }) => {
          if (tenantId === 'Fail-A') throw new Error('disk full');
        },
      });
      await expect(failing).rejects.toThrow(RetentionRunFailed);
      await expect(failing).rejects.toThrow('retention run of tenant Fail-A failed: disk full');
      expect(await liveKey(b.id)).toBe(false);
      expect(await liveKey(a.id)).toBe(false); // committed before the failure
      expect((await retentionEvents('Fail-B')).map((e) => e.type)).toContain('RetentionRunCompleted');
      expect((await retentionEvents('Fail-A')).map((e) => e.type)).not.toContain('RetentionRunCompleted');
    });

    it('given two runners at once, then one holds the lease, each conversation erased once', async () => {
      const T = 'Race';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const due = await Promise.all(Array.from({ length: 8 }, () => conversation(T, daysAgo(11))));
      const other = new Pool({ connectionString: db.runtimeUrl, max: 4 });
      try {
        const results = await Promise.all([
          runRetention(runtime, { tenantId: T }),
          runRetention(other, { tenantId: T }),
          runRetention(other, { tenantId: T }),
        ]);
        const erased = results.map((r) => tenantRun(r, T)?.erased ?? 0);
        expect(erased.reduce((a, b) => a + b, 0)).toBe(8);
        expect(results.some((r) => r.state === 'busy') || erased.filter((n) => n === 8).length === 1).toBe(true);
      } finally {
        await other.end();
      }
      for (const c of due) expect(await erasures(c.id)).toHaveLength(1);
    });

    it('given the lease held elsewhere (a projector), then retention:run is busy and erases nothing', async () => {
      const T = 'Leased';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const c = await conversation(T, daysAgo(11));
      const holder = new Client({ connectionString: db.runtimeUrl });
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1)', [RETENTION_LEASE_KEY]);
        expect(await runRetention(runtime, { tenantId: T })).toEqual({ state: 'busy' });
        expect(await liveKey(c.id)).toBe(true);
      } finally {
        await holder.end();
      }
      expect(tenantRun(await runRetention(runtime, { tenantId: T }), T)?.erased).toBe(1);
    });

    it('given a subject erased while a run goes, then the run does not erase it again', async () => {
      const T = 'Meanwhile';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const due = await Promise.all([1, 2, 3].map(() => conversation(T, daysAgo(11))));
      const erasedBySubject = new Set<string>();
      const run = tenantRun(
        await runRetention(runtime, {
          tenantId: T,
          onConversation: async ({ outcome }) => {
            if (outcome !== 'erased' || erasedBySubject.size > 0) return;
            // an operator's subject erasure of every other due conversation, between two of the run's
            for (const c of due) {
              await inTransaction(runtime, async (client) => {
                await lockSubject(client, T, c.subjectId);
                if (!(await liveKeyOn(client, c.id))) return;
                await eraseConversationInTransaction(
                  client,
                  c.id,
                  {
                    erasureId: randomUUID(),
                    scope: 'subject',
                    reason: 'request',
                    actor: { type: 'operator', id: 'ops-anna' },
                    tenantId: T,
                  },
                  new Date(),
                );
                erasedBySubject.add(c.id);
              });
            }
          },
        }),
        T,
      )!;
      expect(run.erased + erasedBySubject.size).toBe(3);
      for (const c of due) expect(await erasures(c.id)).toHaveLength(1);
    });

    it('given a conversation written to again after the cutoff was taken, then it is not erased', async () => {
      const T = 'Written';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const [a, b] = [await conversation(T, daysAgo(11)), await conversation(T, daysAgo(11))];
      const [first, second] = a.id < b.id ? [a, b] : [b, a];
      const run = tenantRun(
        await runRetention(runtime, {
          tenantId: T,
          onConversation: async ({ conversationId }) => {
            if (conversationId !== first.id) return;
            await store.append(
              `conversation-${second.id}`,
              [
                {
                  eventId: randomUUID(),
                  type: 'WarningIssued',
                  data: { warningId: randomUUID(), kind: 'x' },
                  metadata: { tenantId: T, actor: { type: 'system', id: 'x' } },
                  occurredAt: new Date().toISOString(),
                },
              ],
              { expectedVersion: 'any' },
            );
          },
        }),
        T,
      )!;
      expect(run.erased).toBe(1);
      expect(await liveKey(second.id)).toBe(true);
    });

    it('given a message committed after the run judged a conversation due, then it is not erased', async () => {
      const T = 'Judged';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const c = await conversation(T, daysAgo(11));
      // The run stops after it judged the conversation due (STILL_DUE), at its look for holds
      // (waiting for this lock on their table); a message is appended and committed meanwhile.
      const locker = await db.pool.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE subject_holds IN ACCESS EXCLUSIVE MODE');
        const running = runRetention(runtime, { tenantId: T });
        await lockWaiters(1);
        await store.append(`conversation-${c.id}`, [message(T, c.subjectId)], { expectedVersion: 2 });
        await locker.query('COMMIT');
        expect(tenantRun(await running, T)).toMatchObject({ erased: 0 });
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        locker.release();
      }
      expect(await liveKey(c.id)).toBe(true);
      expect(await erasures(c.id)).toEqual([]);
    });

    it('given content stored before encryption beside sealed content, then the run counts those fields', async () => {
      const T = 'Legacy';
      await setRetention(runtime, { tenantId: T, days: 10, by });
      const c = await conversation(T, daysAgo(30));
      const metadata = { tenantId: T, actor: { type: 'user', id: c.subjectId } };
      await store.append(
        `conversation-${c.id}`,
        [1, 2].map(() => ({
          eventId: randomUUID(),
          type: 'MessageAppended',
          data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'written in clear' },
          metadata,
          occurredAt: daysAgo(20).toISOString(),
        })),
        { expectedVersion: 'any' },
      );
      const run = tenantRun(await runRetention(runtime, { tenantId: T }), T)!;
      expect(run).toMatchObject({ erased: 1, plaintextFields: 2 });
      expect((await erasures(c.id))[0].plaintextFields).toBe(2);
    });

    it('given no setting or a setting turned off, then nothing of the tenant is erased', async () => {
      const off = await conversation('Off-T', daysAgo(5000));
      await setRetention(runtime, { tenantId: 'Off-T', days: 1, by });
      await setRetention(runtime, { tenantId: 'Off-T', days: null, by });
      const none = await conversation('Never-T', daysAgo(5000));
      const result = await runRetention(runtime);
      expect(result.state === 'ran' && result.tenants.map((t) => t.tenantId)).not.toContain('Off-T');
      expect(await liveKey(off.id)).toBe(true);
      expect(await liveKey(none.id)).toBe(true);
    });

    it('given the scheduler, then a tick soon after a tenant run leaves it out, and stop() ends it', async () => {
      await setRetention(runtime, { tenantId: 'Sched', days: 10, by });
      const scheduler = new RetentionScheduler(runtime, { intervalMs: 3_600_000, firstDelayMs: 3_600_000 });
      scheduler.start();
      const tenantsOf = (r: Awaited<ReturnType<typeof runRetention>>) =>
        r.state === 'ran' ? r.tenants.map((t) => t.tenantId) : [];
      expect(tenantsOf(await scheduler.tick())).toContain('Sched');
      expect(tenantsOf(await scheduler.tick())).toEqual([]);
      // retention:run (no gap) runs it again at once; a new tenant is not held back by the others' runs
      expect(tenantsOf(await runRetention(runtime, { tenantId: 'Sched' }))).toEqual(['Sched']);
      await setRetention(runtime, { tenantId: 'Sched-2', days: 10, by });
      expect(tenantsOf(await scheduler.tick())).toEqual(['Sched-2']);
      await scheduler.stop();
    });
  });

  async function liveKeyOn(client: { query: Pool['query'] }, conversationId: string): Promise<boolean> {
    const { rows } = await client.query(
      `SELECT 1 FROM content_keys WHERE conversation_id = $1 AND destroyed_at IS NULL`,
      [conversationId],
    );
    return rows.length === 1;
  }
});
