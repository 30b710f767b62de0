import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { streamIdOf } from '@app/conversation';
import { PostgresEventStore } from '@app/event-store';
import { destroyContentKeys } from '@app/privacy';
import { getAs, startAppOn } from './support/app-on';
import { abusiveThread, Client, path, record, startConversation, THREAD, uuid } from './support/scenario';
import { as, startTestApp, TestApp } from './support/test-app';

// The CLI as an operator runs it (built by `npm run build`): no import of another app.
const CLI = join(resolve(__dirname, '../../..'), 'dist/apps/cli/src/main.js');

const SEALED = uuid(0xe01); // every sealed field, read back through every route
const TAMPERED = uuid(0xe02); // a ciphertext flipped in the database
const ERASED = uuid(0xe03); // keys destroyed while two processes read it
const LEGACY = uuid(0xe04); // written before encryption, straight through the store

const TEXTS = {
  explanation: 'Ended after repeated abuse; see the flagged messages.',
  note: 'Checked by the safety team: no one at risk.',
  comment: 'The assistant stayed calm.',
  review: 'The end was right under policy 1.',
};

type Item = Record<string, unknown>;

const binary = (res: unknown, done: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  const stream = res as NodeJS.ReadableStream;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
};

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('Content encryption: sealed on write, opened on read', () => {
  let t: TestApp;
  let writer: Client;
  let operator: Client;
  let auditor: Client;
  let position: string;

  /** The stored rows of a stream, as the owner reads them. */
  const storedRows = async (conversationId: string) =>
    (
      await t.db.pool.query<{ version: number; type: string; data: Item }>(
        'SELECT stream_version::int AS version, type, data FROM es_events WHERE stream_id = $1 ORDER BY stream_version',
        [streamIdOf(conversationId)],
      )
    ).rows;

  beforeAll(async () => {
    t = await startTestApp();
    writer = as(t, await t.key('writer', 'acme'));
    operator = as(t, await t.key('operator', 'acme'));
    auditor = as(t, await t.key('auditor', '*'));

    await startConversation(writer, SEALED, { tenantId: 'acme' });
    await abusiveThread(writer, SEALED, 2);
    const flagId = randomUUID();
    await record(operator, SEALED, '/risk-flags', { flagId, kind: 'harm_to_others', source: 'operator' });
    await record(operator, SEALED, `/risk-flags/${flagId}/clear`, { note: TEXTS.note });
    await record(writer, SEALED, '/feedback', { messageId: THREAD.a2, rating: 'up', comment: TEXTS.comment });
    const ended = await operator.post(path(SEALED, '/end'), {
      initiator: 'operator',
      reasonCode: 'OTHER_POLICY',
      atMessageId: THREAD.u3,
      explanation: TEXTS.explanation,
    });
    expect(ended.status).toBe(201);
    const { rows } = await t.db.pool.query<{ event_id: string }>(
      `SELECT event_id FROM es_events WHERE stream_id = $1 AND type = 'ConversationEnded'`,
      [streamIdOf(SEALED)],
    );
    const reviewed = await auditor.post(`/v1/audit/conversations/${SEALED}/reviews`, {
      endEventId: rows[0].event_id,
      outcome: 'upheld',
      note: TEXTS.review,
    });
    expect(reviewed.status).toBe(201);
    position = reviewed.body.position;

    for (const id of [TAMPERED, ERASED]) {
      await startConversation(writer, id, { tenantId: 'acme' });
      await abusiveThread(writer, id, 0);
    }
  });
  afterAll(() => t.close());

  it('given every sealed field, then each is an envelope in es_events and nothing else is', async () => {
    const rows = await storedRows(SEALED);
    const sealed = (type: string, field: string) =>
      rows.filter((r) => r.type === type).map((r) => r.data[field] as Item | undefined);
    const envelope = { enc: 'A256GCM', kid: expect.stringMatching(/^[0-9a-f-]{36}$/), iv: expect.any(String) };
    for (const c of sealed('MessageAppended', 'content')) expect(c).toMatchObject(envelope);
    expect(sealed('ConversationEnded', 'explanation')).toEqual([expect.objectContaining(envelope)]);
    expect(sealed('SafetyRiskCleared', 'note')).toEqual([expect.objectContaining(envelope)]);
    expect(sealed('FeedbackSubmitted', 'comment')).toEqual([expect.objectContaining(envelope)]);
    expect(sealed('EndDecisionReviewed', 'note')).toEqual([expect.objectContaining(envelope)]);
    const log = JSON.stringify(rows);
    for (const text of [...Object.values(TEXTS), 'You are useless garbage.']) expect(log).not.toContain(text);
    // One key for the conversation, and the ids, codes and actors stay readable.
    expect(new Set(sealed('MessageAppended', 'content').map((c) => c!.kid)).size).toBe(1);
    expect(rows.find((r) => r.type === 'ConversationEnded')!.data.reasonCode).toBe('OTHER_POLICY');
    // No read model keeps a copy of the text.
    const models = await t.db.pool.query(`SELECT to_jsonb(m) AS row FROM rm_messages m`);
    expect(JSON.stringify(models.rows)).not.toContain('garbage');
  });

  it('given sealed content, then the messages route answers the text', async () => {
    const res = await writer.get(path(SEALED, '/messages'));
    expect(res.status).toBe(200);
    expect(res.body.items.map((m: Item) => m.content)).toEqual([
      'Help me with my essay.',
      'Gladly. What is it about?',
      'You are useless garbage.',
      "Let's get back to the essay.",
      'Shut up, garbage.',
    ]);
    expect(res.body.items.some((m: Item) => 'contentErased' in m || 'contentUnreadable' in m)).toBe(false);
  });

  it('given sealed fields, then events, timeline and feed answer them opened, storedData beside', async () => {
    const events = (await auditor.get(`${path(SEALED, '/events')}?limit=100`)).body.items as Item[];
    const data = (type: string) => events.filter((e) => e.type === type).map((e) => e.data as Item);
    expect(data('ConversationEnded')[0].explanation).toBe(TEXTS.explanation);
    expect(data('SafetyRiskCleared')[0].note).toBe(TEXTS.note);
    expect(data('FeedbackSubmitted')[0].comment).toBe(TEXTS.comment);
    expect(data('EndDecisionReviewed')[0].note).toBe(TEXTS.review);
    expect(data('MessageAppended')[0].content).toBe('Help me with my essay.');
    for (const e of events) {
      const hasSealed = ['MessageAppended', 'ConversationEnded', 'SafetyRiskCleared', 'FeedbackSubmitted'].includes(
        e.type as string,
      );
      if (hasSealed || e.type === 'EndDecisionReviewed') expect(e.storedData).toBeDefined();
      else expect(e).not.toHaveProperty('storedData');
      expect(e).not.toHaveProperty('contentErased');
    }
    expect((events[1].storedData as Item).content).toMatchObject({ enc: 'A256GCM' });

    const timeline = await auditor.get(`/v1/audit/conversations/${SEALED}/timeline`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.chain).toEqual({ valid: true });
    expect(timeline.body.events).toEqual(events);

    const feed = await as(t, await t.key('auditor', 'acme')).get('/v1/events?limit=500');
    const fromFeed = (feed.body.items as Item[]).filter((e) => e.streamId === streamIdOf(SEALED));
    expect(fromFeed).toEqual(events);
  });

  it('given sealed content, then the event stream (SSE) sends it opened', async () => {
    const key = await t.key('auditor', 'acme');
    const res = await t
      .http()
      .get('/v1/events/stream')
      .set('Authorization', `Bearer ${key}`)
      .buffer(true)
      .parse((stream, done) => {
        let text = '';
        stream.on('data', (c: Buffer) => {
          text += c.toString();
          // Enough once the sealed conversation's review went by: stop reading.
          if (text.includes(TEXTS.review)) (stream as unknown as { destroy(): void }).destroy();
        });
        stream.on('close', () => done(null, text));
        stream.on('end', () => done(null, text));
      });
    const text = res.body as string;
    expect(text).toContain(JSON.stringify(TEXTS.explanation));
    expect(text).toContain('"storedData"');
  });

  it('given sealed content, then the export opens it; verify passes on the stored form', async () => {
    const res = await auditor.get(`/v1/audit/export?waitFor=${position}`).buffer(true).parse(binary);
    expect(res.status).toBe(200);
    const lines = (res.body as Buffer)
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const line = lines.find((l) => l.type === 'end' && l.end.conversationId === SEALED);
    const end = line.events.find((e: Item) => e.type === 'ConversationEnded');
    expect(end.data.explanation).toBe(TEXTS.explanation);
    expect(end.storedData.explanation).toMatchObject({ enc: 'A256GCM' });

    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'verify', '--conversation', SEALED], {
      env: { ...process.env, DATABASE_URL: t.db.runtimeUrl, MIGRATION_DATABASE_URL: t.db.url },
    });
    expect(stdout).toMatch(/^ok \d+ events/m);
  });

  it('given a ciphertext flipped in the database, then it is reported unreadable, never shown as erased', async () => {
    const rows = await storedRows(TAMPERED);
    const u2 = rows.find((r) => r.type === 'MessageAppended' && r.data.messageId === THREAD.u2)!;
    const envelope = u2.data.content as { ct: string };
    const ct = Buffer.from(envelope.ct, 'base64');
    ct[0] ^= 0x01;
    // As the owner, behind the service's back: the triggers off for one UPDATE, then back as they were.
    const { rows: triggers } = await t.db.pool.query<{ tgname: string; tgenabled: string }>(
      `SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'es_events'::regclass AND NOT tgisinternal`,
    );
    await t.db.pool.query('ALTER TABLE es_events DISABLE TRIGGER ALL');
    try {
      const { rowCount } = await t.db.pool.query(
        `UPDATE es_events SET data = jsonb_set(data, '{content,ct}', to_jsonb($3::text))
          WHERE stream_id = $1 AND stream_version = $2`,
        [streamIdOf(TAMPERED), u2.version, ct.toString('base64')],
      );
      expect(rowCount).toBe(1);
    } finally {
      await t.db.pool.query('ALTER TABLE es_events ENABLE TRIGGER ALL');
      for (const { tgname, tgenabled } of triggers) {
        const how = { A: 'ENABLE ALWAYS', R: 'ENABLE REPLICA', D: 'DISABLE', O: 'ENABLE' }[tgenabled] ?? 'ENABLE';
        await t.db.pool.query(`ALTER TABLE es_events ${how} TRIGGER "${tgname}"`);
      }
    }
    const messages = (await writer.get(path(TAMPERED, '/messages'))).body.items as Item[];
    const flipped = messages.find((m) => m.messageId === THREAD.u2)!;
    expect(flipped).toMatchObject({ content: null, contentUnreadable: true });
    expect(flipped).not.toHaveProperty('contentErased');
    expect(messages.find((m) => m.messageId === THREAD.u1)!.content).toBe('Help me with my essay.');

    const events = (await auditor.get(`${path(TAMPERED, '/events')}?limit=100`)).body.items as Item[];
    const event = events.find((e) => e.version === u2.version)!;
    expect(event).toMatchObject({ data: { content: null }, contentUnreadable: true });
    expect(event).not.toHaveProperty('contentErased');
    const timeline = await auditor.get(`/v1/audit/conversations/${TAMPERED}/timeline`);
    expect(timeline.body.chain).toMatchObject({ valid: false, brokenAtVersion: u2.version });
  });

  it('given two API processes, when keys are destroyed, then the other reads erased after commit', async () => {
    let other: NestFastifyApplication | undefined;
    try {
      other = await startAppOn(t.db.runtimeUrl);
      const key = await t.key('writer', 'acme');
      const read = async (app: NestFastifyApplication) => (await getAs(app, key, path(ERASED, '/messages'))).body;
      // Both have the key cached.
      expect((await read(t.app)).items[0].content).toBe('Help me with my essay.');
      expect((await read(other)).items[0].content).toBe('Help me with my essay.');

      const client = await t.db.pool.connect();
      try {
        await client.query('BEGIN');
        expect(await destroyContentKeys(client, [ERASED], randomUUID())).toHaveLength(1);
        // Not committed: still readable everywhere.
        expect((await read(other)).items[0].content).toBe('Help me with my essay.');
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const erasedIn = async (app: NestFastifyApplication) => {
        for (let i = 0; i < 40; i++) {
          const body = await read(app);
          if (body.items[0].content === null) return body;
          await sleep(50);
        }
        return read(app);
      };
      for (const app of [other, t.app]) {
        const body = await erasedIn(app);
        for (const m of body.items) {
          expect(m).toMatchObject({ content: null, contentErased: true });
          expect(m).not.toHaveProperty('contentUnreadable');
        }
      }
      const events = (await getAs(other, await t.key('auditor', 'acme'), `${path(ERASED, '/events')}?limit=100`)).body
        .items as Item[];
      expect(events.filter((e) => e.type === 'MessageAppended').every((e) => e.contentErased === true)).toBe(true);
      // The record still proves itself: the chain is over the stored (sealed) form.
      const timeline = await auditor.get(`/v1/audit/conversations/${ERASED}/timeline`);
      expect(timeline.body.chain).toEqual({ valid: true });
      // A message appended afterwards is sealed under a new key and reads as text.
      await record(writer, ERASED, '/messages', {
        messageId: uuid(0xe0a),
        parentMessageId: THREAD.u3,
        role: 'assistant',
        content: 'A new key now.',
      });
      const after = (await read(other)).items as Item[];
      expect(after.at(-1)).toMatchObject({ content: 'A new key now.' });
      expect(after.at(-1)).not.toHaveProperty('contentErased');
    } finally {
      await other?.close();
    }
  });

  it('given events written before encryption (plaintext in the log), then they still read as text', async () => {
    const store = t.app.get(PostgresEventStore);
    const metadata = { tenantId: 'acme', actor: { type: 'user', id: 'subject-1' } };
    await store.append(
      streamIdOf(LEGACY),
      [
        {
          eventId: randomUUID(),
          type: 'ConversationStarted',
          data: { conversationId: LEGACY, tenantId: 'acme', subjectId: 'subject-1', modelId: 'claude-opus-4-1' },
          metadata,
          occurredAt: '2025-01-01T00:00:00.000Z',
        },
        {
          eventId: randomUUID(),
          type: 'MessageAppended',
          data: { messageId: THREAD.u1, parentMessageId: null, role: 'user', content: 'Written in 2025.' },
          metadata,
          occurredAt: '2025-01-01T00:00:01.000Z',
        },
      ],
      { expectedVersion: 'no_stream' },
    );
    const messages = (await writer.get(path(LEGACY, '/messages'))).body.items as Item[];
    expect(messages).toEqual([expect.objectContaining({ content: 'Written in 2025.' })]);
    const events = (await auditor.get(path(LEGACY, '/events'))).body.items as Item[];
    expect((events[1].data as Item).content).toBe('Written in 2025.');
    expect(events[1]).not.toHaveProperty('storedData');
    // Appending to it seals the new message; the old one stays as it was.
    await record(writer, LEGACY, '/messages', {
      messageId: THREAD.a1,
      parentMessageId: THREAD.u1,
      role: 'assistant',
      content: 'Sealed now.',
    });
    const rows = await storedRows(LEGACY);
    expect(rows[1].data.content).toBe('Written in 2025.');
    expect(rows[2].data.content).toMatchObject({ enc: 'A256GCM' });
    expect(((await writer.get(path(LEGACY, '/messages'))).body.items as Item[]).map((m) => m.content)).toEqual([
      'Written in 2025.',
      'Sealed now.',
    ]);
  });
});
