import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@app/event-store';
import { createTestDatabase, TestDatabase, untilLogVisible } from '@app/testing';
import { projectionsRebuild, projectionsStatus } from './projections.command';
import { UsageError } from '../args';
import { verify } from './verify.command';

/** The operator commands of CONTRACT.md's CLI table, on a real database. */
describe('CLI commands', () => {
  let db: TestDatabase;
  let lines: string[];
  const id = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    const store = new PostgresEventStore(db.pool);
    const at = '2026-01-02T03:04:05.000Z';
    const metadata = { tenantId: 't-1', actor: { type: 'user', id: 's-1' } };
    await store.append(
      `conversation-${id}`,
      [
        {
          eventId: randomUUID(),
          type: 'ConversationStarted',
          data: { conversationId: id, tenantId: 't-1', subjectId: 's-1', modelId: 'claude-opus-4-1' },
          metadata,
          occurredAt: at,
        },
        {
          eventId: randomUUID(),
          type: 'MessageAppended',
          data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'hi' },
          metadata,
          occurredAt: at,
        },
      ],
      { expectedVersion: 'no_stream' },
    );
  });
  afterAll(() => db.drop());
  beforeEach(() => {
    lines = [];
    jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  it('projections:rebuild prints the count, and projections:status then shows no lag', async () => {
    await untilLogVisible(db.pool, 2);
    await projectionsRebuild(db.pool, undefined);
    expect(lines.at(-1)).toBe('rebuilt thread-status, messages, ends, stats, access from 2 events');
    lines = [];
    await projectionsStatus(db.pool);
    expect(lines[0]).toMatch(/^projection\s+checkpoint\s+lag events/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[2])).toEqual(['0', '0', '0', '0', '0']);
  });

  it('projections:rebuild refuses an unknown projection', async () => {
    await expect(projectionsRebuild(db.pool, 'nope')).rejects.toThrow(/unknown projection "nope"/);
  });

  it('verify --conversation takes the id in any letter case and refuses what is not a UUID', async () => {
    expect(await verify(db.pool, { conversation: id.toUpperCase() })).toBe(0);
    expect(lines.at(-1)).toBe('ok 2 events');
    for (const bad of [`{${id}}`, ` ${id}`, `urn:uuid:${id}`, 'conversation']) {
      await expect(verify(db.pool, { conversation: bad })).rejects.toThrow(UsageError);
    }
  });

  it('verify prints ok N events, then the first broken link with exit code 1', async () => {
    expect(await verify(db.pool, {})).toBe(0);
    expect(lines.at(-1)).toBe('ok 2 events');
    await db.pool.query('ALTER TABLE es_events DISABLE TRIGGER es_events_no_update');
    try {
      await db.pool.query(`UPDATE es_events SET data = '{"tampered": true}' WHERE stream_version = 2`);
    } finally {
      await db.pool.query('ALTER TABLE es_events ENABLE ALWAYS TRIGGER es_events_no_update');
    }
    lines = [];
    expect(await verify(db.pool, { conversation: id })).toBe(1);
    expect(lines.at(-1)).toBe(`broken: conversation-${id} at version 2 (content does not match its hash)`);
  });
});
