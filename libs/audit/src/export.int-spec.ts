import { createHash, randomUUID } from 'node:crypto';
import { ConversationCommand, streamIdOf } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { endsProjection, rebuildProjections } from '@app/projections';
import { readableEvents } from '@app/privacy';
import { createTestDatabase, fixtureDeps, runFixtureCommand, TestDatabase, testContentKeys } from '@app/testing';
import { listEnds } from './ends.query';
import { EXPORT_GROUP_EVENTS, exportEndLines } from './export';
import { readStreamOfTenant } from './tenant-streams';

const m = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A conversation of `messages` messages, redirected twice and ended by the model: its events. */
function endedConversation(conversationId: string, tenantId: string, messages: number): ConversationCommand[] {
  const say = (i: number): ConversationCommand => ({
    type: 'AppendMessage',
    data: {
      messageId: m(i),
      parentMessageId: i === 1 ? null : m(i - 1),
      role: i % 2 ? 'user' : 'assistant',
      content: `message ${i} of ${conversationId}`,
    },
  });
  return [
    { type: 'StartConversation', data: { conversationId, tenantId, subjectId: 's', modelId: 'claude-opus-4-1' } },
    ...Array.from({ length: messages }, (_, i) => say(i + 1)),
    { type: 'RecordRedirection', data: { messageId: m(2), harmCategory: 'ABUSE_OF_ASSISTANT' } },
    { type: 'RecordRedirection', data: { messageId: m(4), harmCategory: 'ABUSE_OF_ASSISTANT' } },
    {
      type: 'EndConversation',
      data: { initiator: 'model', reasonCode: 'ABUSE_OF_ASSISTANT', atMessageId: m(messages) },
    },
  ];
}

/**
 * The export reads the events of a run of short conversations in one query and a long one a
 * chunk at a time, and hands its output on in larger chunks: the bytes must be those of each
 * line built whole, in the order of /ends, whatever the page size.
 */
describe('exportEndLines', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  // Short ones around a conversation longer than one query's worth of events, of two tenants.
  const conversations = [
    { id: randomUUID(), tenantId: 'acme', messages: 5 },
    { id: randomUUID(), tenantId: 'globex', messages: 7 },
    { id: randomUUID(), tenantId: 'acme', messages: EXPORT_GROUP_EVENTS + 40 },
    { id: randomUUID(), tenantId: 'acme', messages: 6 },
    { id: randomUUID(), tenantId: 'globex', messages: 5 },
    { id: randomUUID(), tenantId: 'acme', messages: 9 },
  ];

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    let minute = 0;
    for (const c of conversations) {
      // Ended a minute apart, so the order of /ends (newest first) is fixed.
      const deps = fixtureDeps(store, { clock: () => new Date(Date.UTC(2026, 0, 2, 3, minute)) });
      for (const command of endedConversation(c.id, c.tenantId, c.messages))
        await runFixtureCommand(deps, c.id, c.tenantId, command);
      minute++;
    }
    await rebuildProjections(db.pool, store, [endsProjection]);
  }, 120_000);
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  /** The export as each line built whole: every end of /ends with its conversation's events, as read. */
  async function expected(tenantId?: string): Promise<string> {
    const { items } = await listEnds(db.pool, { tenantId }, { limit: 100 });
    let text = '';
    for (const end of items) {
      const stored = await readStreamOfTenant(db.pool, streamIdOf(end.conversationId), end.tenantId);
      const events = await readableEvents(testContentKeys(db.pool), stored);
      text += `${JSON.stringify({ type: 'end', end, events })}\n`;
    }
    return text;
  }

  async function exported(pageSize: number, tenantId?: string): Promise<{ text: string; chunks: number }> {
    let text = '';
    let chunks = 0;
    for await (const piece of exportEndLines(db.pool, {
      keys: testContentKeys(db.pool),
      filters: { tenantId },
      pageSize,
    })) {
      text += piece;
      chunks++;
    }
    return { text, chunks };
  }

  it.each([1, 2, 4, 50])('writes each line as built whole, pages of %i', async (pageSize) => {
    const want = await expected();
    expect(want.split('\n').length - 1).toBe(conversations.length);
    const { text } = await exported(pageSize);
    const lines = text.split('\n');
    const manifest = JSON.parse(lines.at(-2)!) as { count: number; sha256: string };
    const body = text.slice(0, text.length - lines.at(-2)!.length - 1);
    expect(body).toBe(want);
    expect(manifest.count).toBe(conversations.length);
    expect(manifest.sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('writes one tenant’s ends only, with their events', async () => {
    const { text } = await exported(3, 'globex');
    const want = await expected('globex');
    expect(want.split('\n').length - 1).toBe(2);
    expect(text.startsWith(want)).toBe(true);
    // Sealed in the log, opened in the export, the stored form (as hashed) beside it.
    const [line] = text.split('\n');
    const message = JSON.parse(line).events.find((e: { type: string }) => e.type === 'MessageAppended');
    expect(message.data.content).toMatch(/^message 1 of /);
    expect(message.storedData.content).toMatchObject({ enc: 'A256GCM' });
  });

  it('awaits the caller’s pause between runs of ends, with the time each took', async () => {
    const steps: number[] = [];
    let text = '';
    const pause = async (stepMs: number) => void steps.push(stepMs);
    for await (const piece of exportEndLines(db.pool, {
      keys: testContentKeys(db.pool),
      filters: {},
      pageSize: 50,
      pause,
    }))
      text += piece;
    // The long conversation alone, the short ones around it in runs: two or more pauses.
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps.length).toBeLessThan(conversations.length);
    expect(steps.every((ms) => ms >= 0)).toBe(true);
    expect(text.startsWith(await expected())).toBe(true);
  });

  it('hands the output on in chunks larger than a line', async () => {
    // Chunks of about 64 kB (and the manifest), not a piece per end and per query of events.
    const { text, chunks } = await exported(50);
    expect(chunks).toBeLessThan(conversations.length);
    expect(chunks).toBeLessThanOrEqual(Math.ceil(text.length / (64 * 1024)) + 2);
  });
});
