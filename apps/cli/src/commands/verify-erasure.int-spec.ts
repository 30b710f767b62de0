import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresEventStore } from '@app/event-store';
import { eraseSubject, placeLegalHold, releaseLegalHold } from '@app/privacy';
import { createTestDatabase, fixtureDeps, runFixtureCommand, TestDatabase } from '@app/testing';
import { verify } from './verify.command';

/** `verify` after erasures: the chains cover the ciphertext, so destroying keys breaks none. */
describe('verify after a subject erasure', () => {
  let db: TestDatabase;
  let runtime: Pool;
  let store: PostgresEventStore;
  let lines: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    runtime = new Pool({ connectionString: db.runtimeUrl, max: 4 });
    store = new PostgresEventStore(runtime);
  });
  afterAll(async () => {
    await store.close();
    await runtime.end();
    await db.drop();
  });
  beforeEach(() => {
    lines = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  it('given sealed conversations, holds and an erasure, then verify prints ok with every event', async () => {
    const deps = fixtureDeps(store);
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) {
      await runFixtureCommand(deps, id, 't-1', {
        type: 'StartConversation',
        data: { conversationId: id, tenantId: 't-1', subjectId: 's-1', modelId: 'm-1' },
      });
      await runFixtureCommand(deps, id, 't-1', {
        type: 'AppendMessage',
        data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'to be erased' },
      });
    }
    const by = { keyId: 'k-admin' };
    const { holdId } = await placeLegalHold(runtime, { tenantId: 't-1', subjectId: 's-1' }, 'litigation', by);
    await releaseLegalHold(runtime, { tenantId: 't-1', subjectId: 's-1' }, holdId, by);
    const erased = await eraseSubject(runtime, { tenantId: 't-1', subjectId: 's-1' }, 'request', by);
    expect(erased.conversations).toBe(2);

    // 2 × (start, message, ContentErased) + the subject's placed, released, erased
    expect(await verify(db.pool, {})).toBe(0);
    expect(lines.at(-1)).toBe('ok 9 events');
    for (const id of ids) expect(await verify(db.pool, { conversation: id })).toBe(0);
    expect(lines.at(-1)).toBe('ok 3 events');
  });
});
