import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { destroyContentKeys, readableEvents } from '@app/privacy';
import { createTestDatabase, tableRows, TestDatabase, testContentKeys } from '@app/testing';
import { ConversationDriver } from '../test/conversation-driver';
import { catchUp } from '../test/runner-fixtures';
import { ALL_PROJECTIONS, rebuildProjections } from './index';

let db: TestDatabase;
let pool: Pool;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
  store = new PostgresEventStore(pool);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

/** Every row of every read model, as one text. */
const readModelsText = async () =>
  JSON.stringify(
    await Promise.all(ALL_PROJECTIONS.flatMap((p) => p.tables).map(async (t) => [t, await tableRows(pool, t)])),
  );

describe('read models and sealed content', () => {
  it('given every kind of sealed text, then no read model holds it, nor after erasure and rebuild', async () => {
    const secret = (what: string) => `secret ${what} ${randomUUID()}`;
    const texts = {
      message: secret('message'),
      note: secret('flag note'),
      explanation: secret('explanation'),
      review: secret('review note'),
      comment: secret('feedback comment'),
    };
    const driver = new ConversationDriver(store, { tenantId: 'sealed' });
    await driver.start();
    const u1 = await driver.say('user', null, texts.message);
    const a1 = await driver.say('assistant', u1);
    const flagId = randomUUID();
    await driver.run({ type: 'FlagSafetyRisk', data: { flagId, kind: 'harm_to_others', source: 'operator' } });
    await driver.run({ type: 'ClearSafetyRisk', data: { flagId, note: texts.note } });
    await driver.run({ type: 'SubmitFeedback', data: { messageId: a1, rating: 'down', comment: texts.comment } });
    const end = await driver.end({
      initiator: 'operator',
      reasonCode: 'OTHER_POLICY',
      atMessageId: a1,
      explanation: texts.explanation,
    });
    await driver.review(end.eventId, { outcome: 'upheld', note: texts.review });

    // Every sealed field is an envelope in the log, and reads back as its text.
    const { rows } = await pool.query<{ eventId: string; type: string; data: Record<string, unknown> }>(
      `SELECT event_id AS "eventId", type, data FROM es_events WHERE stream_id = $1 ORDER BY stream_version`,
      [`conversation-${driver.conversationId}`],
    );
    const log = JSON.stringify(rows);
    for (const text of Object.values(texts)) expect(log).not.toContain(text);
    const read = JSON.stringify((await readableEvents(testContentKeys(pool), rows)).map((e) => e.data));
    for (const text of Object.values(texts)) expect(read).toContain(text);

    for (const p of ALL_PROJECTIONS) await catchUp(pool, store, p);
    const live = await readModelsText();
    for (const text of Object.values(texts)) expect(live).not.toContain(text);

    // Erased, then every read model rebuilt from the log: the same rows, and still none of the text.
    const statusBefore = await tableRows(pool, 'rm_conversations');
    await destroyContentKeys(pool, [driver.conversationId], randomUUID());
    for (const p of ALL_PROJECTIONS) await rebuildProjections(pool, store, [p]);
    const rebuilt = await readModelsText();
    for (const text of Object.values(texts)) expect(rebuilt).not.toContain(text);
    expect(await tableRows(pool, 'rm_conversations')).toEqual(statusBefore);
    const erased = await readableEvents(testContentKeys(pool), rows);
    expect(erased.filter((e) => e.contentErased).map((e) => e.type)).toEqual([
      'MessageAppended',
      'MessageAppended',
      'SafetyRiskCleared',
      'FeedbackSubmitted',
      'ConversationEnded',
      'EndDecisionReviewed',
    ]);
  });
});
