import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createTestDatabase, TestDatabase, untilWaitingOnLocks } from '@app/testing';
import {
  AppendResult,
  IdempotencyKeyReused,
  InvalidEvent,
  NewEvent,
  parsePosition,
  PostgresEventStore,
  VersionConflict,
} from '@app/event-store';
import { AppendBatcher } from './append-batcher';

const AT = '2026-01-02T03:04:05.678Z';
const SCOPE = 't-1:POST /x';
const event = (n = 1): NewEvent => ({
  eventId: randomUUID(),
  type: 'Happened',
  data: { n },
  metadata: { actor: { type: 'user', id: 'u-1' }, tenantId: 't-1' },
  occurredAt: AT,
});
const idem = (key: string, requestHash = 'a'.repeat(64)) => ({ scope: SCOPE, key, requestHash });
const txOf = (r: AppendResult) => parsePosition(r.position).transactionId;
const fulfilled = <T>(r: PromiseSettledResult<T>): T => {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
};

describe(AppendBatcher.name, () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  // One batch in flight: appends made while `blocker()` is in flight go out together, as one
  // batch in one transaction.
  let serial: PostgresEventStore;
  const blocker = () => serial.append(`b-${randomUUID()}`, [event()], { expectedVersion: 'any' });

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    serial = new PostgresEventStore(db.pool, {}, { maxInFlight: 1 });
  });
  afterAll(() => db.drop());

  describe('when one append of a batch conflicts', () => {
    it('refuses that append alone, and it writes nothing', async () => {
      const ids = Array.from({ length: 9 }, () => `s-${randomUUID()}`);
      await Promise.all(ids.map((id) => store.append(id, [event()], { expectedVersion: 'no_stream' })));
      const bad = event();
      const key = randomUUID();
      const first = blocker();
      const results = await Promise.allSettled(
        ids.map((id, i) =>
          i === 4
            ? serial.append(id, [bad], { expectedVersion: 5, idempotency: idem(key) })
            : serial.append(id, [event()], { expectedVersion: 1, idempotency: idem(randomUUID()) }),
        ),
      );
      await first;

      expect(results.map((r) => r.status)).toEqual(ids.map((_, i) => (i === 4 ? 'rejected' : 'fulfilled')));
      expect((results[4] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflict);
      expect((results[4] as PromiseRejectedResult).reason).toMatchObject({ actual: 1 });
      const landed = results.filter((r) => r.status === 'fulfilled').map(fulfilled);
      expect(new Set(landed.map(txOf)).size).toBe(1);
      expect(landed.map((r) => r.lastVersion)).toEqual(Array(8).fill(2));
      expect(await serial.streamVersion(ids[4])).toBe(1);
      expect(await serial.readByEventIds([bad.eventId])).toEqual([]);
      expect(await serial.findIdempotentResult(SCOPE, key)).toBeNull();
      for (const id of ids) expect((await serial.verifyStream(id)).valid).toBe(true);
    });

    it('leaves no stream behind for an append refused on a stream that does not exist', async () => {
      const missing = `s-${randomUUID()}`;
      const created = `s-${randomUUID()}`;
      const first = blocker();
      const results = await Promise.allSettled([
        serial.append(missing, [event()], { expectedVersion: 3 }),
        serial.append(missing, [event()], { expectedVersion: 'stream_exists' }),
        serial.append(created, [event()], { expectedVersion: 'no_stream' }),
      ]);
      await first;
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
      const { rows } = await db.pool.query('SELECT 1 FROM es_streams WHERE stream_id = $1', [missing]);
      expect(rows).toHaveLength(0);
      // The stream created in the same batch keeps its head.
      expect(await serial.streamVersion(created)).toBe(1);
      expect(await serial.append(created, [event()], { expectedVersion: 1 })).toMatchObject({ lastVersion: 2 });
    });
  });

  describe('when the same idempotency key comes twice in one batch', () => {
    it('appends once, replays it for the same request and refuses another request', async () => {
      const id = `s-${randomUUID()}`;
      const key = randomUUID();
      const first = blocker();
      const [a, b, c] = await Promise.allSettled([
        serial.append(id, [event(1)], { expectedVersion: 'any', idempotency: idem(key) }),
        serial.append(id, [event(2)], { expectedVersion: 'any', idempotency: idem(key) }),
        serial.append(id, [event(3)], { expectedVersion: 'any', idempotency: idem(key, 'b'.repeat(64)) }),
      ]);
      await first;
      expect(fulfilled(a).replayed).toBe(false);
      expect(fulfilled(b)).toEqual({ ...fulfilled(a), replayed: true });
      expect((c as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyKeyReused);
      expect(await serial.streamVersion(id)).toBe(1);
    });

    it('gives the key to the next append when the first one is refused', async () => {
      const id = `s-${randomUUID()}`;
      const key = randomUUID();
      const first = blocker();
      const [refused, taken] = await Promise.allSettled([
        serial.append(id, [event(1)], { expectedVersion: 7, idempotency: idem(key) }),
        serial.append(id, [event(2)], { expectedVersion: 'no_stream', idempotency: idem(key, 'b'.repeat(64)) }),
      ]);
      await first;
      expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflict);
      const result = fulfilled(taken);
      expect(await serial.findIdempotentResult(SCOPE, key)).toEqual({
        requestHash: 'b'.repeat(64),
        result: { ...result, replayed: true },
      });
    });
  });

  describe('when a batch fails as a whole', () => {
    it('retries its appends one by one, so only the faulty one fails', async () => {
      const stored = event();
      await store.append(`s-${randomUUID()}`, [stored], { expectedVersion: 'any' });
      const first = blocker();
      const [good, duplicate, alsoGood] = await Promise.allSettled([
        serial.append(`s-${randomUUID()}`, [event()], { expectedVersion: 'no_stream' }),
        serial.append(`s-${randomUUID()}`, [{ ...event(), eventId: stored.eventId }], { expectedVersion: 'no_stream' }),
        serial.append(`s-${randomUUID()}`, [event()], { expectedVersion: 'no_stream' }),
      ]);
      await first;
      expect((duplicate as PromiseRejectedResult).reason).toBeInstanceOf(InvalidEvent);
      expect(fulfilled(good).lastVersion).toBe(1);
      expect(fulfilled(alsoGood).lastVersion).toBe(1);
    });

    it("fails all appends at once on an error of the server's state (a timeout), none replayed alone", async () => {
      const timed = new Pool({ connectionString: db.runtimeUrl, statement_timeout: 300, max: 4 });
      const slow = new PostgresEventStore(timed, {}, { maxInFlight: 1 });
      const locker = await db.pool.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE es_streams IN ACCESS EXCLUSIVE MODE');
        const ids = Array.from({ length: 4 }, () => `s-${randomUUID()}`);
        // The first goes out alone at once; the other three queue behind it and go as one batch.
        const results = await Promise.allSettled(
          ids.map((id) => slow.append(id, [event()], { expectedVersion: 'no_stream' })),
        );
        const reasons = results.map((r) => (r as PromiseRejectedResult).reason as { code?: string });
        expect(reasons.map((r) => r?.code)).toEqual(['57014', '57014', '57014', '57014']);
        // One answer for the whole batch: the appends were not sent again one by one.
        expect(new Set(reasons.slice(1)).size).toBe(1);
        await locker.query('ROLLBACK');
        const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM es_streams WHERE stream_id = ANY($1)', [
          ids,
        ]);
        expect(rows).toEqual([{ n: 0 }]);
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        locker.release();
        await slow.close();
        await timed.end();
      }
    });
  });

  describe('under concurrency', () => {
    it('lands 200 concurrent appends with any version across 10 streams, contiguous and chained', async () => {
      const ids = Array.from({ length: 10 }, () => `s-${randomUUID()}`);
      const sizes = Array.from({ length: 200 }, (_, i) => 1 + (i % 3));
      const results = await Promise.all(
        sizes.map((n, i) =>
          store.append(
            ids[i % 10],
            Array.from({ length: n }, () => event(i)),
            { expectedVersion: 'any' },
          ),
        ),
      );
      expect(new Set(results.map(txOf)).size).toBeLessThan(200);
      for (const [s, id] of ids.entries()) {
        const total = sizes.filter((_, i) => i % 10 === s).reduce((a, b) => a + b, 0);
        const events = await store.readStream(id);
        expect(events.map((e) => e.version)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        expect(await store.verifyStream(id)).toEqual({ valid: true, count: total });
      }
    });

    it('creates a stream once when many appends race to create it', async () => {
      const id = `s-${randomUUID()}`;
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, () => store.append(id, [event()], { expectedVersion: 'no_stream' })),
      );
      const conflicts = results.filter((r) => r.status === 'rejected' && r.reason instanceof VersionConflict);
      expect([results.length - conflicts.length, conflicts.length]).toEqual([1, 29]);
      expect(await store.streamVersion(id)).toBe(1);
    });
  });

  describe('while a large batch is in flight', () => {
    // A batch held in flight on a stream's lock, taken by another session. The stores have the
    // default group commit (two batches in flight, minSplit 8), `patient` a hold of a minute.
    let fresh: PostgresEventStore;
    let patient: PostgresEventStore;
    beforeEach(() => {
      fresh = new PostgresEventStore(db.pool);
      patient = new PostgresEventStore(db.pool, {}, { maxHoldMs: 60_000 });
    });
    afterEach(() => Promise.all([fresh.close(), patient.close()]));
    const landed = async (r: Promise<AppendResult>) =>
      Promise.race([r.then(() => true), new Promise<boolean>((done) => setTimeout(() => done(false), 300))]);
    const lone = (s: PostgresEventStore) => s.append(`s-${randomUUID()}`, [event()], { expectedVersion: 'any' });

    async function withBatchHeld(
      s: PostgresEventStore,
      size: number,
      then: () => Promise<void>,
    ): Promise<AppendResult[]> {
      const locked = `s-${randomUUID()}`;
      await store.append(locked, [event()], { expectedVersion: 'any' });
      const lock = await db.pool.connect();
      try {
        await lock.query('BEGIN');
        await lock.query('SELECT 1 FROM es_streams WHERE stream_id = $1 FOR UPDATE', [locked]);
        // the first append goes alone (nothing in flight); the rest queue behind it as one batch
        const first = lone(s);
        const held = [locked, ...Array.from({ length: size - 1 }, () => `s-${randomUUID()}`)].map((id) =>
          s.append(id, [event()], { expectedVersion: 'any' }),
        );
        await first;
        await untilWaitingOnLocks(db.pool, 1);
        await then();
        await lock.query('COMMIT');
        return await Promise.all(held);
      } finally {
        lock.release(true); // its transaction, if a failure left it open, ends with it
      }
    }

    it('holds a lone append back to go with the next batch, rather than alone in the free slot', async () => {
      let later!: Promise<AppendResult>;
      const batch = await withBatchHeld(patient, 8, async () => {
        later = lone(patient);
        expect(await landed(later)).toBe(false);
      });
      const after = await later;
      expect(txOf(after) > txOf(batch[0])).toBe(true);
      expect(new Set(batch.map(txOf)).size).toBe(1);
    });

    it('holds it maxHoldMs at most: a batch waiting on a lock does not keep it waiting', async () => {
      await withBatchHeld(fresh, 8, async () => expect(await landed(lone(fresh))).toBe(true));
    });

    it('does not hold again, once a hold ran out, while the same batch is still out', async () => {
      const slow = new PostgresEventStore(db.pool, {}, { maxHoldMs: 1_000 });
      try {
        await withBatchHeld(slow, 8, async () => {
          await lone(slow); // held a second, then sent alone
          expect(await landed(lone(slow))).toBe(true);
        });
      } finally {
        await slow.close();
      }
    });

    it('sends a lone append at once while the batch in flight is small', async () => {
      await withBatchHeld(patient, 7, async () => expect(await landed(lone(patient))).toBe(true));
    });
  });

  describe('its batch connection', () => {
    let pool: Pool;
    let own: PostgresEventStore;
    beforeAll(() => {
      pool = new Pool({ connectionString: db.url, max: 4, application_name: 'batcher-test' });
      own = new PostgresEventStore(pool);
    });
    afterAll(async () => {
      await own.close();
      await pool.end();
    });
    const batchBackends = async () =>
      (
        await db.pool.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database() ' +
            `AND application_name = 'batcher-test (batches)'`,
        )
      ).rows.map((r) => r.pid);
    const burst = (id: string, n: number) =>
      Promise.all(Array.from({ length: n }, () => own.append(id, [event()], { expectedVersion: 'any' })));

    it('is one connection, named in pg_stat_activity, that batches share', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => own.append(`s-${randomUUID()}`, [event()], { expectedVersion: 'any' })),
      );
      expect(new Set(results.map(txOf)).size).toBeLessThan(20);
      expect(await batchBackends()).toHaveLength(1);
    });

    it('lands a burst on one stream whole, its versions in commit order', async () => {
      // A batch may take its transaction id before a lone append that locks the stream first:
      // its appends to that stream then go again alone (StreamOrderGuard), never out of order.
      const id = `s-${randomUUID()}`;
      const results = await burst(id, 30);
      expect(results.map((r) => r.lastVersion).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      const { rows } = await db.pool.query<{ v: string }>(
        'SELECT stream_version AS v FROM es_events WHERE stream_id = $1 ORDER BY transaction_id, position',
        [id],
      );
      expect(rows.map((r) => Number(r.v))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await own.verifyStream(id)).toEqual({ valid: true, count: 30 });
    });

    it('is opened again after the server drops it, and later appends land', async () => {
      await burst(`s-${randomUUID()}`, 10);
      const [before] = await batchBackends();
      await db.pool.query('SELECT pg_terminate_backend($1)', [before]);
      const id = `s-${randomUUID()}`;
      // appends that meet the dead connection fail (their outcome is unknown to the store);
      // the next ones open another
      const settled = await Promise.allSettled(
        Array.from({ length: 10 }, () => own.append(id, [event()], { expectedVersion: 'any' })),
      );
      const landed = settled.filter((r) => r.status === 'fulfilled').length;
      const again = await burst(id, 10);
      expect(again).toHaveLength(10);
      expect(await own.streamVersion(id)).toBe(landed + 10);
      const after = await batchBackends();
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before);
      expect(await own.verifyStream(id)).toEqual({ valid: true, count: landed + 10 });
    });

    it('is closed by close(), and opened again by the next batch', async () => {
      await burst(`s-${randomUUID()}`, 10);
      await own.close();
      for (let i = 0; i < 50 && (await batchBackends()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await batchBackends()).toHaveLength(0);
      await burst(`s-${randomUUID()}`, 10);
      expect(await batchBackends()).toHaveLength(1);
    });
  });
});
