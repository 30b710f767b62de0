import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { streamIdOf } from '@app/conversation';
import { IdempotencyKeyReused, PostgresEventStore, type StoredEvent } from '@app/event-store';
import { createTestDatabase, fixtureDeps, runFixtureCommand, testContentKeys, type TestDatabase } from '@app/testing';
import { LegalHoldOpen } from './erasure';
import { kidsOf, openData } from './sealing';
import { HoldAlreadyReleased, placeLegalHold, releaseLegalHold, UnknownHold } from './legal-holds';
import { eraseSubject } from './subject-erasure';
import { subjectStreamId } from './subject-stream';

const admin = { keyId: 'key-admin', holder: 'Dana (DPO)' };
const idem = (key: string, requestHash: string) => ({ ...admin, idempotency: { scope: '*', key, requestHash } });

/** Erasure, holds and their events, on the database as the runtime sees it. */
describe('subjects (erasure and legal holds)', () => {
  let db: TestDatabase;
  let runtime: Pool;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 12 });
    store = new PostgresEventStore(runtime);
  });
  afterAll(async () => {
    await store.close();
    await runtime.end();
    await db.drop();
  });

  const deps = () => fixtureDeps(store);

  /** A conversation of the subject with one plaintext message (written the way it was before encryption). */
  async function plaintextConversation(tenantId: string, subjectId: string): Promise<string> {
    const id = randomUUID();
    const d = fixtureDeps(store, {
      content: {
        seal: async (_owner, events) => events,
        requestTag: async (_e, h) => h,
        requestTagUnder: async () => null,
        forget: () => undefined,
      },
    });
    await runFixtureCommand(d, id, tenantId, {
      type: 'StartConversation',
      data: { conversationId: id, tenantId, subjectId, modelId: 'm1' },
    });
    await runFixtureCommand(d, id, tenantId, {
      type: 'AppendMessage',
      data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'old plaintext' },
    });
    return id;
  }

  /** A conversation whose message is sealed under its content key. */
  async function sealedConversation(tenantId: string, subjectId: string): Promise<{ id: string; event: StoredEvent }> {
    const id = randomUUID();
    await runFixtureCommand(deps(), id, tenantId, {
      type: 'StartConversation',
      data: { conversationId: id, tenantId, subjectId, modelId: 'm1' },
    });
    await runFixtureCommand(deps(), id, tenantId, {
      type: 'AppendMessage',
      data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'secret' },
    });
    const events = await store.readStream(streamIdOf(id));
    return { id, event: events[1] };
  }

  const opened = async (event: StoredEvent) =>
    openData(event, await testContentKeys(runtime).lookupMany(kidsOf(event)));
  const subjectEvents = (tenantId: string, subjectId: string) => store.readStream(subjectStreamId(tenantId, subjectId));

  describe('when a subject is erased', () => {
    it('answers the conversations and the plaintext events, destroys the keys and records every step', async () => {
      const subjectId = `s-${randomUUID()}`;
      const old = await plaintextConversation('t-a', subjectId);
      const sealed = await sealedConversation('t-a', subjectId);
      expect((await opened(sealed.event)).data.content).toBe('secret');

      const erased = await eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'data subject request #1', admin);

      expect(erased).toMatchObject({ conversations: 2, plaintextEventsNotErasable: 1, replayed: false });
      expect(await opened(sealed.event)).toMatchObject({ data: { content: null }, contentErased: true });
      for (const id of [old, sealed.id]) {
        const events = await store.readStream(streamIdOf(id));
        const last = events[events.length - 1];
        expect(last).toMatchObject({
          type: 'ContentErased',
          data: { erasureId: erased.erasureId, scope: 'subject', reason: 'data subject request #1' },
          metadata: { tenantId: 't-a' },
        });
        expect((await store.verifyStream(streamIdOf(id))).valid).toBe(true);
      }
      const [recorded] = await subjectEvents('t-a', subjectId);
      expect(recorded).toMatchObject({
        type: 'SubjectErased',
        data: {
          erasureId: erased.erasureId,
          tenantId: 't-a',
          subjectId,
          conversations: 2,
          plaintextEventsNotErasable: 1,
        },
        metadata: { tenantId: 't-a', apiKeyId: 'key-admin', apiKeyHolder: 'Dana (DPO)' },
      });
      expect(recorded.occurredAt).toBe(erased.erasedAt);
    });

    it('leaves the same subject id of another tenant alone', async () => {
      const subjectId = `s-${randomUUID()}`;
      const mine = await sealedConversation('t-a', subjectId);
      const theirs = await sealedConversation('t-b', subjectId);

      const erased = await eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'request', admin);

      expect(erased.conversations).toBe(1);
      expect((await opened(mine.event)).contentErased).toBe(true);
      expect(await opened(theirs.event)).toMatchObject({ data: { content: 'secret' }, contentErased: false });
      expect(await subjectEvents('t-b', subjectId)).toEqual([]);
    });

    it('answers a subject with no conversation with zero counts', async () => {
      const erased = await eraseSubject(runtime, { tenantId: 't-a', subjectId: 'nobody' }, 'request', admin);
      expect(erased).toMatchObject({ conversations: 0, plaintextEventsNotErasable: 0 });
    });
  });

  describe('given an Idempotency-Key', () => {
    it('answers a retry with the first answer and erases nothing again', async () => {
      const subjectId = `s-${randomUUID()}`;
      const { id } = await sealedConversation('t-a', subjectId);
      const key = `k-${randomUUID()}`;
      const first = await eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'r', idem(key, 'h1'));
      const again = await eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'r', idem(key, 'h1'));

      expect(first.keyIds).toHaveLength(1);
      expect(again).toEqual({ ...first, keyIds: [], replayed: true });
      expect(await subjectEvents('t-a', subjectId)).toHaveLength(1);
      expect((await store.readStream(streamIdOf(id))).filter((e) => e.type === 'ContentErased')).toHaveLength(1);
    });

    it('erases once when two retries race', async () => {
      const subjectId = `s-${randomUUID()}`;
      await sealedConversation('t-a', subjectId);
      const key = `k-${randomUUID()}`;
      const answers = await Promise.all(
        [1, 2, 3].map(() => eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'r', idem(key, 'h1'))),
      );
      expect(new Set(answers.map((a) => a.erasureId)).size).toBe(1);
      expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
      expect(await subjectEvents('t-a', subjectId)).toHaveLength(1);
    });

    it('refuses the key with another request and appends nothing', async () => {
      const subjectId = `s-${randomUUID()}`;
      const { id } = await sealedConversation('t-a', subjectId);
      const key = `k-${randomUUID()}`;
      await placeLegalHold(runtime, { tenantId: 't-a', subjectId: 'other' }, 'r', idem(key, 'h-hold'));

      await expect(eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'r', idem(key, 'h-erase'))).rejects.toThrow(
        IdempotencyKeyReused,
      );
      expect(await subjectEvents('t-a', subjectId)).toEqual([]);
      expect((await opened((await store.readStream(streamIdOf(id)))[1])).contentErased).toBe(false);
    });

    it('places a hold once for one key', async () => {
      const subjectId = `s-${randomUUID()}`;
      const key = `k-${randomUUID()}`;
      const first = await placeLegalHold(runtime, { tenantId: 't-a', subjectId }, 'litigation', idem(key, 'h'));
      const again = await placeLegalHold(runtime, { tenantId: 't-a', subjectId }, 'litigation', idem(key, 'h'));
      expect(again).toEqual({ ...first, replayed: true });
      const { rows } = await runtime.query('SELECT count(*)::int AS n FROM subject_holds WHERE subject_id = $1', [
        subjectId,
      ]);
      expect(rows[0].n).toBe(1);
    });
  });

  describe('given a legal hold', () => {
    it('refuses the erasure naming the hold, until it is released', async () => {
      const subjectId = `s-${randomUUID()}`;
      const sealed = await sealedConversation('t-a', subjectId);
      const { holdId } = await placeLegalHold(runtime, { tenantId: 't-a', subjectId }, 'litigation 42', admin);

      const refused = eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'request', admin);
      await expect(refused).rejects.toThrow(LegalHoldOpen);
      await expect(refused).rejects.toMatchObject({ holds: [expect.objectContaining({ holdId })] });
      expect((await opened(sealed.event)).contentErased).toBe(false);

      await releaseLegalHold(runtime, { tenantId: 't-a', subjectId }, holdId.toUpperCase(), admin);
      const erased = await eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'request', admin);
      expect(erased.conversations).toBe(1);
      expect((await opened(sealed.event)).contentErased).toBe(true);

      const events = await subjectEvents('t-a', subjectId);
      expect(events.map((e) => e.type)).toEqual(['LegalHoldPlaced', 'LegalHoldReleased', 'SubjectErased']);
      expect(events[0].data).toEqual({ holdId, tenantId: 't-a', subjectId, reason: 'litigation 42' });
      expect(events[1].data).toEqual({ holdId, tenantId: 't-a', subjectId });
      expect((await store.verifyStream(subjectStreamId('t-a', subjectId))).valid).toBe(true);
    });

    it('refuses to release another tenant’s, another subject’s, an unknown or a released hold', async () => {
      const subjectId = `s-${randomUUID()}`;
      const { holdId } = await placeLegalHold(runtime, { tenantId: 't-a', subjectId }, 'r', admin);
      await expect(releaseLegalHold(runtime, { tenantId: 't-b', subjectId }, holdId, admin)).rejects.toThrow(
        UnknownHold,
      );
      await expect(releaseLegalHold(runtime, { tenantId: 't-a', subjectId: 'x' }, holdId, admin)).rejects.toThrow(
        UnknownHold,
      );
      await expect(releaseLegalHold(runtime, { tenantId: 't-a', subjectId }, randomUUID(), admin)).rejects.toThrow(
        UnknownHold,
      );
      await releaseLegalHold(runtime, { tenantId: 't-a', subjectId }, holdId, admin);
      await expect(releaseLegalHold(runtime, { tenantId: 't-a', subjectId }, holdId, admin)).rejects.toThrow(
        HoldAlreadyReleased,
      );
      expect((await subjectEvents('t-a', subjectId)).map((e) => e.type)).toEqual([
        'LegalHoldPlaced',
        'LegalHoldReleased',
      ]);
    });

    it('never erases content while a hold committed before the erasure (raced 20 times)', async () => {
      for (let i = 0; i < 20; i++) {
        const subjectId = `race-${i}-${randomUUID()}`;
        const sealed = await sealedConversation('t-a', subjectId);
        const [erasure, hold] = await Promise.allSettled([
          eraseSubject(runtime, { tenantId: 't-a', subjectId }, 'request', admin),
          placeLegalHold(runtime, { tenantId: 't-a', subjectId }, 'litigation', admin),
        ]);
        expect(hold.status).toBe('fulfilled');
        const events = await subjectEvents('t-a', subjectId);
        const erased = (await opened(sealed.event)).contentErased;
        if (erasure.status === 'rejected') {
          expect(erasure.reason).toBeInstanceOf(LegalHoldOpen);
          expect(erased).toBe(false);
          expect(events.map((e) => e.type)).toEqual(['LegalHoldPlaced']);
        } else {
          // the erasure came first: the hold was placed on content already gone
          expect(erased).toBe(true);
          expect(events.map((e) => e.type)).toEqual(['SubjectErased', 'LegalHoldPlaced']);
        }
      }
    });
  });
});
