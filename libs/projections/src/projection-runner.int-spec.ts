import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { allMessages, foldEvents, toThreadStatus } from '@app/conversation';
import { canonicalBody, comparePositions, PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { ConversationDriver } from '../test/conversation-driver';
import {
  allEventIds,
  appendTicks,
  catchUp,
  CountingProjection,
  eventually,
  FAST,
  iso,
  lagOf,
  projectedStatus,
  sleep,
} from '../test/runner-fixtures';
import { toRecorded } from '@app/application';
import { ALL_PROJECTIONS, leaseKey, type Projection, ProjectionRunner, projectionLags, readCheckpoints } from './index';
import { streamIdOf } from '@app/conversation';

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
  store = new PostgresEventStore(pool);
});
afterAll(() => db.drop());

async function foldedState(conversationId: string) {
  return foldEvents((await store.readStream(streamIdOf(conversationId))).map(toRecorded));
}

/** The session holding a projection's lease (pg_locks shows a bigint key as two oids). */
async function leaseHolders(name: string): Promise<number[]> {
  const key = BigInt.asUintN(64, BigInt(leaseKey(name)));
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = $1::oid AND objid = $2::oid
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [String(key >> 32n), String(key & 0xffffffffn)],
  );
  return rows.map((r) => r.pid);
}

describe(ProjectionRunner.name, () => {
  describe('with every read model', () => {
    it('brings each one up to date with the conversations in the log', async () => {
      const t = (tenantId: string, startAt: string, modelId?: string) =>
        new ConversationDriver(store, { tenantId, startAt, modelId });

      // A: ended by the model after two redirections, reviewed (reclassified), then edited into a new branch.
      const a = t('rm-a', '2025-09-01T10:00:00.000Z');
      await a.start();
      const [, a1, , a2] = await a.thread(3);
      await a.redirect(a1);
      await a.redirect(a2);
      const u4 = await a.say('user', a.state.activeLeafMessageId);
      const endA = await a.end({
        initiator: 'model',
        reasonCode: 'ABUSE_OF_ASSISTANT',
        atMessageId: u4,
        evidenceMessageIds: [u4],
      });
      await a.run({ type: 'SubmitFeedback', data: { messageId: u4, rating: 'down' } });
      const reviewA = await a.review(endA.eventId, {
        outcome: 'reclassified',
        newReasonCode: 'HATE_OR_HARASSMENT_GENERATION',
        errorType: 'wrong_reason',
      });
      const b1 = await a.say('user', a2, 'let me put that differently');
      await a.say('assistant', b1);

      // B: a USER_REQUESTED end blocked before the request, passed after it, upheld.
      const b = t('rm-a', '2025-09-02T08:00:00.000Z');
      await b.start();
      const [, ba1] = await b.thread(1);
      const bu2 = await b.say('user', ba1, 'please end this chat');
      const blockedB = await b.end({ initiator: 'model', reasonCode: 'USER_REQUESTED', atMessageId: bu2 });
      await b.run({ type: 'RequestEnd', data: { messageId: bu2 } });
      const endB = await b.end({ initiator: 'model', reasonCode: 'USER_REQUESTED', atMessageId: bu2 });
      const reviewB = await b.review(endB.eventId, { outcome: 'upheld' });

      // C: a model that may not end, a self-harm flag blocking every end; cleared; an operator end, overturned.
      const c = t('rm-b', '2025-09-02T23:55:00.000Z', 'claude-haiku-3-5');
      await c.start();
      const [, ca1] = await c.thread(1);
      const flagId = randomUUID();
      await c.run({ type: 'FlagSafetyRisk', data: { flagId, kind: 'self_harm', source: 'classifier', score: 0.93 } });
      const blockedC1 = await c.end({ initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: ca1 });
      const blockedC2 = await c.end({
        initiator: 'operator',
        reasonCode: 'OPERATOR_ACTION',
        atMessageId: ca1,
        explanation: 'spam run',
      });
      await c.run({ type: 'ClearSafetyRisk', data: { flagId, note: 'reviewed, no risk' } });
      const endC = await c.end({
        initiator: 'operator',
        reasonCode: 'OPERATOR_ACTION',
        atMessageId: ca1,
        explanation: 'spam run',
      });
      const reviewC = await c.review(endC.eventId, {
        outcome: 'overturned',
        errorType: 'false_positive',
        note: 'was not spam',
      });

      // D: still open, with an open harm-to-others flag.
      const d = t('rm-b', '2025-09-03T12:00:00.000Z');
      await d.start();
      await d.thread(2);
      await d.run({
        type: 'FlagSafetyRisk',
        data: { flagId: randomUUID(), kind: 'harm_to_others', source: 'operator' },
      });

      // Small batches: conversations span several batches and states are reloaded between them.
      const runners = ALL_PROJECTIONS.map((p) => new ProjectionRunner(pool, store, p, { ...FAST, batchSize: 4 }));
      runners.forEach((r) => r.start());
      await eventually('every projection to catch up', async () =>
        (
          await projectionLags(
            pool,
            ALL_PROJECTIONS.map((p) => p.name),
          )
        ).every((l) => l.lagEvents === 0),
      );
      await Promise.all(runners.map((r) => r.stop()));

      const drivers = [a, b, c, d];
      for (const driver of drivers) {
        const state = await foldedState(driver.conversationId);
        expect(await projectedStatus(pool, driver.conversationId)).toEqual({
          ...toThreadStatus(state),
          subjectId: state.subjectId,
          modelId: state.modelId,
          startedAt: state.startedAt,
        });
        const { rows } = await pool.query(
          `SELECT message_id, parent_message_id, role, model_id, stop_reason, created_at, version
             FROM rm_messages WHERE conversation_id = $1 ORDER BY version`,
          [driver.conversationId],
        );
        expect(
          rows.map((r) => ({
            messageId: r.message_id,
            parentMessageId: r.parent_message_id,
            role: r.role,
            ...(r.model_id !== null && { modelId: r.model_id }),
            ...(r.stop_reason !== null && { stopReason: r.stop_reason }),
            createdAt: iso(r.created_at),
            version: Number(r.version),
          })),
        ).toEqual(allMessages(state).map(({ content: _sealed, ...m }) => m));
      }
      expect(await projectedStatus(pool, a.conversationId)).toMatchObject({
        status: 'active',
        branchCount: 2,
        redirectionCount: 2,
        messageCount: 9,
      });
      expect(await projectedStatus(pool, b.conversationId)).toMatchObject({
        status: 'ended',
        activeLeafMessageId: bu2,
      });
      expect(await projectedStatus(pool, c.conversationId)).toMatchObject({ status: 'ended', openRiskFlags: 0 });
      expect(await projectedStatus(pool, d.conversationId)).toMatchObject({
        status: 'active',
        openRiskFlags: 1,
        ends: [],
      });

      // Each row as a tuple of its columns, in the order selected.
      const ids = drivers.map((x) => x.conversationId);
      const tuples = async (sql: string) =>
        (await pool.query({ text: sql, values: sql.includes('$1') ? [ids] : [], rowMode: 'array' })).rows;
      const at = (e: { occurredAt: string }) => new Date(e.occurredAt);

      expect(
        await tuples(
          `SELECT end_event_id, conversation_id, tenant_id, reason_code, initiator, model_id, ` +
            `policy_version, ended_at,
                             ended_at_message_id, redirection_count, version::int, review_outcome, reviewed_at
                        FROM rm_ends WHERE conversation_id = ANY($1::uuid[]) ORDER BY ended_at`,
        ),
      ).toEqual([
        [
          endA.eventId,
          a.conversationId,
          'rm-a',
          'ABUSE_OF_ASSISTANT',
          'model',
          'claude-opus-4-1',
          1,
          at(endA),
          u4,
          2,
          endA.version,
          'reclassified',
          at(reviewA),
        ],
        [
          endB.eventId,
          b.conversationId,
          'rm-a',
          'USER_REQUESTED',
          'model',
          'claude-opus-4-1',
          1,
          at(endB),
          bu2,
          0,
          endB.version,
          'upheld',
          at(reviewB),
        ],
        [
          endC.eventId,
          c.conversationId,
          'rm-b',
          'OPERATOR_ACTION',
          'operator',
          'claude-haiku-3-5',
          1,
          at(endC),
          ca1,
          0,
          endC.version,
          'overturned',
          at(reviewC),
        ],
      ]);

      expect(
        await tuples(
          `SELECT event_id, conversation_id, tenant_id, initiator, proposed_reason_code, failed_guards, ` +
            `at_message_id, model_id
                        FROM rm_blocked_ends WHERE conversation_id = ANY($1::uuid[]) ORDER BY attempted_at`,
        ),
      ).toEqual([
        [
          blockedB.eventId,
          b.conversationId,
          'rm-a',
          'model',
          'USER_REQUESTED',
          ['NO_USER_REQUEST'],
          bu2,
          'claude-opus-4-1',
        ],
        [
          blockedC1.eventId,
          c.conversationId,
          'rm-b',
          'model',
          'ABUSE_OF_ASSISTANT',
          ['SAFETY_RISK_OPEN', 'MODEL_NOT_END_CAPABLE', 'INSUFFICIENT_REDIRECTION'],
          ca1,
          'claude-haiku-3-5',
        ],
        [
          blockedC2.eventId,
          c.conversationId,
          'rm-b',
          'operator',
          'OPERATOR_ACTION',
          ['SAFETY_RISK_OPEN'],
          ca1,
          'claude-haiku-3-5',
        ],
      ]);

      expect(
        await tuples(`SELECT to_char(day, 'YYYY-MM-DD'), tenant_id, started::int FROM rm_daily_started
                       WHERE tenant_id IN ('rm-a', 'rm-b') ORDER BY 1, 2`),
      ).toEqual([
        ['2025-09-01', 'rm-a', 1],
        ['2025-09-02', 'rm-a', 1],
        ['2025-09-02', 'rm-b', 1],
        ['2025-09-03', 'rm-b', 1],
      ]);
      // C started on 09-02 at 23:55 and ended after midnight UTC: its end counts on 09-03.
      expect(
        await tuples(`SELECT to_char(day, 'YYYY-MM-DD'), tenant_id, dimension, key, ends::int FROM rm_daily_ends
                       WHERE tenant_id IN ('rm-a', 'rm-b') ORDER BY 1, 2, 3, 4`),
      ).toEqual([
        ['2025-09-01', 'rm-a', 'modelId', 'claude-opus-4-1', 1],
        ['2025-09-01', 'rm-a', 'reasonCode', 'ABUSE_OF_ASSISTANT', 1],
        ['2025-09-02', 'rm-a', 'modelId', 'claude-opus-4-1', 1],
        ['2025-09-02', 'rm-a', 'reasonCode', 'USER_REQUESTED', 1],
        ['2025-09-03', 'rm-b', 'modelId', 'claude-haiku-3-5', 1],
        ['2025-09-03', 'rm-b', 'reasonCode', 'OPERATOR_ACTION', 1],
      ]);

      expect(
        await tuples(
          `SELECT review_id, end_event_id, conversation_id, tenant_id, reviewer_id, outcome, new_reason_code, ` +
            `error_type, reviewed_at
                        FROM rm_reviews WHERE conversation_id = ANY($1::uuid[]) ORDER BY reviewed_at`,
        ),
      ).toEqual([
        [
          reviewA.data.reviewId,
          endA.eventId,
          a.conversationId,
          'rm-a',
          'auditor-1',
          'reclassified',
          'HATE_OR_HARASSMENT_GENERATION',
          'wrong_reason',
          at(reviewA),
        ],
        [reviewB.data.reviewId, endB.eventId, b.conversationId, 'rm-a', 'auditor-1', 'upheld', null, null, at(reviewB)],
        [
          reviewC.data.reviewId,
          endC.eventId,
          c.conversationId,
          'rm-b',
          'auditor-1',
          'overturned',
          null,
          'false_positive',
          at(reviewC),
        ],
      ]);
    });
  });

  describe('with two runners on one projection', () => {
    it('keeps only one active at a time and applies every event exactly once', async () => {
      const name = 'count-two';
      await CountingProjection.createTables(pool, name);
      const [a, b] = ['a', 'b'].map(
        (label) => new ProjectionRunner(pool, store, new CountingProjection(name, label), { ...FAST, batchSize: 10 }),
      );
      let bothActive = 0;
      const sampler = setInterval(() => (bothActive += a.active && b.active ? 1 : 0), 1);
      a.start();
      b.start();
      try {
        for (let i = 0; i < 8; i++) {
          await appendTicks(store, 15);
          await sleep(10);
        }
        await eventually('a runner to hold the lease', () => a.active || b.active);
        expect(await leaseHolders(name)).toHaveLength(1);
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);

        // The holder stops; the standby takes over where it left off.
        const [first, second] = a.active ? [a, b] : [b, a];
        await first.stop();
        await eventually('the standby to take the lease', () => second.active);
        await appendTicks(store, 30);
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);
      } finally {
        clearInterval(sampler);
        await Promise.all([a.stop(), b.stop()]);
      }
      expect(bothActive).toBe(0);
      const applied = await CountingProjection.applied(pool, name);
      expect(applied.map((r) => r.eventId)).toEqual(await allEventIds(pool));
      expect(await CountingProjection.count(pool, name)).toBe(applied.length);
      const handovers = applied.filter((r, i) => i > 0 && r.appliedBy !== applied[i - 1].appliedBy);
      expect(handovers).toHaveLength(1);
    });

    it('resumes a runner killed in the middle of a batch on the standby, with no gap and no double count', async () => {
      const name = 'count-kill';
      await CountingProjection.createTables(pool, name);
      const victimProjection = new CountingProjection(name, 'victim');
      const victim = new ProjectionRunner(pool, store, victimProjection, { ...FAST, batchSize: 10 });
      const standby = new ProjectionRunner(pool, store, new CountingProjection(name, 'standby'), {
        ...FAST,
        batchSize: 10,
      });
      victim.start();
      await eventually('the victim to hold the lease', () => victim.active);
      standby.start();
      let release!: () => void;
      try {
        await appendTicks(store, 15);
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);

        // The victim's next batch stops inside apply, its transaction open, and its session is killed.
        victimProjection.hold = new Promise((r) => (release = r));
        const held = new Promise<string[]>(
          (resolve) => (victimProjection.onHeld = (_tx, eventIds) => resolve(eventIds)),
        );
        await appendTicks(store, 25);
        const heldIds = await held;
        const [holder] = await leaseHolders(name);
        await pool.query('SELECT pg_terminate_backend($1)', [holder]);
        // Still held in apply, the victim hears of its dead session and no longer claims the lease.
        await eventually('the victim to notice', () => !victim.active, 2000);
        await eventually('the standby to take over', () => standby.active);
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);

        // The victim wakes up on a dead session: its batch is gone and it becomes a standby.
        release();
        await appendTicks(store, 10);
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);
        expect(victim.active).toBe(false);

        const applied = await CountingProjection.applied(pool, name);
        expect(applied.map((r) => r.eventId)).toEqual(await allEventIds(pool));
        expect(await CountingProjection.count(pool, name)).toBe(applied.length);
        expect(applied.filter((r) => heldIds.includes(r.eventId)).map((r) => r.appliedBy)).toEqual(
          heldIds.map(() => 'standby'),
        );
        const [checkpoint] = (await readCheckpoints(pool)).filter((c) => c.name === name);
        expect(checkpoint.events).toBe(applied.length);
      } finally {
        release?.();
        await Promise.all([victim.stop(), standby.stop()]);
      }
    });
  });

  describe('waiting for appends', () => {
    /** A ChangeSignal the test announces on, counting the runner's waits. */
    function announcer() {
      let heard = 0;
      let wake: (() => void) | null = null;
      const signal = {
        waits: 0,
        mark: () => heard,
        next: (timeoutMs: number, since: number) => {
          signal.waits++;
          if (since !== heard) return Promise.resolve();
          return new Promise<void>((done) => {
            const timer = setTimeout(() => ((wake = null), done()), timeoutMs).unref();
            wake = () => (clearTimeout(timer), (wake = null), done());
          });
        },
        announce: () => {
          heard++;
          wake?.();
        },
      };
      return signal;
    }

    it('after a batch that took everything committed, waits: no read that finds nothing, no polling', async () => {
      const name = 'count-quiet';
      await CountingProjection.createTables(pool, name);
      const changes = announcer();
      // A poll interval far longer than a round: every read in a round comes from its announcement
      // (events held back longer than the quick re-reads, by another test's transaction, are
      // found by the poll).
      const runner = new ProjectionRunner(pool, store, new CountingProjection(name, 'runner'), {
        ...FAST,
        pollIntervalMs: 2_000,
        changes,
      });
      // What each read found, and whether committed events waited behind an older open
      // transaction (another test's on this server, perhaps): then it reads again, on purpose.
      const found: string[] = [];
      const original = store.nextRange.bind(store);
      const reads = jest.spyOn(store, 'nextRange').mockImplementation(async (options) => {
        const next = await original(options);
        found.push(`${next.range ? 'batch' : 'nothing'}${next.heldBack ? ' held' : ''}`);
        return next;
      });
      runner.start();
      try {
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);
        await eventually('the runner to wait', () => changes.waits >= 1);
        let quiet = 0;
        // Up to 30 appends, until 3 found nothing else waiting (a busy server holds some back).
        for (let i = 0; i < 30 && quiet < 3; i++) {
          found.length = 0;
          const waits = changes.waits;
          const [tick] = await appendTicks(store, 1);
          changes.announce();
          await eventually('the tick to be applied', async () =>
            (await CountingProjection.applied(pool, name)).some((r) => r.eventId === tick),
          );
          await eventually('the runner to wait again', () => changes.waits > waits);
          await sleep(100);
          if (found.some((f) => f.endsWith('held'))) continue;
          quiet++;
          // The batch, then the wait: no read to find nothing, no retries, no polls.
          expect(found).toEqual(['batch']);
          expect(changes.waits).toBe(waits + 1);
        }
        expect(quiet).toBeGreaterThan(0);
      } finally {
        reads.mockRestore();
        await runner.stop();
      }
    });

    it('misses no append announced between its read and its wait', async () => {
      const name = 'count-gap';
      await CountingProjection.createTables(pool, name);
      const changes = announcer();
      const projection = new CountingProjection(name, 'runner');
      // Its poll (20 s) comes after `eventually` gives up (5 s): only the mark can bring the read.
      const runner = new ProjectionRunner(pool, store, projection, { ...FAST, pollIntervalMs: 20_000, changes });
      runner.start();
      const original = store.nextRange.bind(store);
      const reads = jest.spyOn(store, 'nextRange');
      try {
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);
        await eventually('the runner to wait', () => changes.waits >= 1);
        // The next read finds nothing; an append commits and is announced before the runner waits.
        let appended: string[] = [];
        let readsThen = Infinity;
        reads.mockImplementationOnce(async (options) => {
          const found = await original(options);
          appended = await appendTicks(store, 1);
          changes.announce();
          readsThen = reads.mock.calls.length;
          return found;
        });
        changes.announce(); // wakes the runner for that read
        await eventually('a read after the announcement', () => reads.mock.calls.length > readsThen, 5_000);
        // (Held back by another test's open transaction past the quick re-reads, it waits for the poll.)
        await eventually(
          'the append to be applied',
          async () => (await CountingProjection.applied(pool, name)).some((r) => appended.includes(r.eventId)),
          45_000,
        );
      } finally {
        reads.mockRestore();
        await runner.stop();
      }
    });

    it('finds a checkpoint moved back while it waits: at its poll, or by the next batch’s lock', async () => {
      const name = `reset-heard-${randomUUID()}`;
      await CountingProjection.createTables(pool, name);
      const changes = announcer();
      const runner = new ProjectionRunner(pool, store, new CountingProjection(name, 'a'), {
        ...FAST,
        pollIntervalMs: 200,
        changes,
      });
      const reset = async () => {
        await pool.query(`TRUNCATE ${CountingProjection.table(name)}, ${CountingProjection.counts(name)}`);
        await pool.query(`UPDATE projection_checkpoints SET position = '0-0', events = 0 WHERE name = $1`, [name]);
      };
      runner.start();
      try {
        await eventually('caught up', async () => (await lagOf(pool, name)) === 0);
        // Nothing announced: the poll that ends its wait forgets the position.
        await reset();
        await eventually('applied again', async () => (await lagOf(pool, name)) === 0);
        // An append announced: its batch finds the moved checkpoint when it locks it.
        await eventually('the runner to wait', () => changes.waits >= 1);
        await reset();
        await appendTicks(store, 1);
        changes.announce();
        await eventually('applied again', async () => (await lagOf(pool, name)) === 0);
        const applied = (await CountingProjection.applied(pool, name)).map((r) => r.eventId);
        expect(applied).toEqual(await allEventIds(pool));
      } finally {
        await runner.stop();
      }
    });
  });

  describe('when a transaction commits late', () => {
    it('applies its event exactly once after it commits, never skipping it', async () => {
      const name = 'count-late';
      await CountingProjection.createTables(pool, name);
      let idles = 0;
      const runner = new ProjectionRunner(pool, store, new CountingProjection(name, 'runner'), {
        ...FAST,
        changes: {
          mark: () => 0,
          next: async () => {
            idles++;
            await sleep(10);
          },
        },
      });
      runner.start();
      const late = await pool.connect();
      try {
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);
        // The late transaction takes its place in commit order first, then stays open.
        const lateId = randomUUID();
        const streamId = `late-${randomUUID()}`;
        const occurredAt = '2025-09-01T00:00:00.000Z';
        const body = canonicalBody({ streamId, type: 'Late', data: {}, metadata: {}, occurredAt });
        await late.query('BEGIN');
        const { rows } = await late.query<{ r: { transactionId: string; lastPosition: string } }>(
          'SELECT es_append_bodies($1, -1, $2, $3, NULL, NULL, NULL) AS r',
          [streamId, [lateId], body],
        );
        const latePosition = `${rows[0].r.transactionId}-${rows[0].r.lastPosition}`;
        const later = await appendTicks(store, 5);
        const idlesBefore = idles;
        await eventually('the runner to poll a few times', () => idles >= idlesBefore + 5);

        const whileOpen = (await CountingProjection.applied(pool, name)).map((r) => r.eventId);
        expect(whileOpen).not.toContain(lateId);
        expect(whileOpen.filter((id) => later.includes(id))).toEqual([]);
        const [checkpoint] = (await readCheckpoints(pool)).filter((c) => c.name === name);
        expect(comparePositions(checkpoint.position, latePosition)).toBeLessThan(0);

        await late.query('COMMIT');
        await eventually('the count to catch up', async () => (await lagOf(pool, name)) === 0);
        const applied = (await CountingProjection.applied(pool, name)).map((r) => r.eventId);
        expect(applied.filter((id) => id === lateId)).toHaveLength(1);
        expect(applied).toEqual(await allEventIds(pool));
        expect(await CountingProjection.count(pool, name)).toBe(applied.length);
      } finally {
        await late.query('ROLLBACK').catch(() => undefined);
        late.release();
        await runner.stop();
      }
    });
  });

  describe('with batchIntervalMs', () => {
    it('takes one batch per interval while events keep coming, and full batches one after another', async () => {
      const batches: { at: number; count: number }[] = [];
      // Timed as the batch is found (prepare follows its one read): the statements between that
      // and apply take longer under a loaded machine, and would shorten a gap measured at apply.
      const projection: Projection = {
        name: `paced-${randomUUID()}`,
        tables: [],
        async prepare(_db, batch) {
          batches.push({ at: Date.now(), count: batch.count });
        },
        async apply() {},
      };
      // A backlog of several full batches (with whatever the other tests appended).
      await appendTicks(store, 450);
      const runner = new ProjectionRunner(pool, store, projection, { ...FAST, batchSize: 150, batchIntervalMs: 250 });
      runner.start();
      try {
        // Then a steady trickle, far below a full batch per interval.
        const until = Date.now() + 1500;
        while (Date.now() < until) {
          await appendTicks(store, 2);
          await sleep(10);
        }
        await eventually('the paced projection to catch up', async () => (await lagOf(pool, projection.name)) === 0);
      } finally {
        await runner.stop();
      }
      const gaps = batches.slice(1).map((b, i) => ({ ms: b.at - batches[i].at, afterFull: batches[i].count === 150 }));
      const afterFull = gaps.filter((g) => g.afterFull).map((g) => g.ms);
      const afterPartial = gaps.filter((g) => !g.afterFull).map((g) => g.ms);
      expect(afterFull.length).toBeGreaterThanOrEqual(2);
      expect(Math.min(...afterFull)).toBeLessThan(200);
      // Without the interval the trickle is taken a commit or two at a time: dozens of batches,
      // a few milliseconds apart.
      expect(afterPartial.length).toBeGreaterThanOrEqual(3);
      expect(Math.min(...afterPartial)).toBeGreaterThanOrEqual(200);
    });
  });
});

describe('ProjectionRunner and a checkpoint moved back while it waits', () => {
  it('reads the checkpoint again after its wait and applies the log again from there', async () => {
    const name = `reset-${randomUUID()}`;
    await CountingProjection.createTables(pool, name);
    await appendTicks(store, 5);
    const runner = new ProjectionRunner(pool, store, new CountingProjection(name, 'a'), FAST);
    runner.start();
    try {
      const all = (await allEventIds(pool)).length;
      await eventually('caught up', async () => (await CountingProjection.count(pool, name)) === all);
      // An operator's replay: the checkpoint back to the start, the table emptied. No event follows.
      await pool.query(`TRUNCATE ${CountingProjection.table(name)}, ${CountingProjection.counts(name)}`);
      await pool.query(`UPDATE projection_checkpoints SET position = '0-0', events = 0 WHERE name = $1`, [name]);
      await eventually('applied again', async () => (await CountingProjection.count(pool, name)) === all);
      expect((await CountingProjection.applied(pool, name)).length).toBe(all);
    } finally {
      await runner.stop();
    }
  });
});

describe(projectionLags.name, () => {
  it('reports the events a projection has not processed, and 0 once its runner ran', async () => {
    const threadStatus = ALL_PROJECTIONS.find((p) => p.name === 'thread-status')!;
    await catchUp(pool, store, threadStatus);
    const driver = new ConversationDriver(store, { tenantId: 'lag' });
    await driver.start();
    await driver.thread(1);
    const [before] = await projectionLags(pool, ['thread-status']);
    expect(before).toMatchObject({ name: 'thread-status', lagEvents: 3 });
    expect(before.lagSeconds).toBeGreaterThanOrEqual(0);

    await catchUp(pool, store, threadStatus);
    const [after] = await projectionLags(pool, ['thread-status']);
    expect(after).toMatchObject({ lagEvents: 0, lagSeconds: 0, position: driver.position });
  });
});
