import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { PostgresEventStore } from '@app/event-store';
import { ContentKeys, LocalMasterKey, masterKeyRing, sealData } from '@app/privacy';
import { setRetention } from '@app/retention';
import { createTestDatabase, type TestDatabase } from '@app/testing';

const PROJECTOR = join(resolve(__dirname, '../../..'), 'dist/apps/projector/src/main.js');

/** The built projector runs the retention job on its schedule, without any master key. */
describe('projector: retention job', () => {
  let db: TestDatabase;
  let projector: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(async () => {
    projector?.kill('SIGKILL');
    await db.drop();
  });

  it('given retention and a due conversation, then the projector erases it and stops cleanly', async () => {
    const tenantId = 'Sched-T';
    const conversationId = randomUUID();
    const subjectId = 's-1';
    const keys = new ContentKeys(db.pool, masterKeyRing(new LocalMasterKey(randomBytes(32))));
    const key = await keys.liveKey({ conversationId, tenantId, subjectId });
    const at = new Date(Date.now() - 20 * 86_400_000).toISOString();
    const metadata = { tenantId, actor: { type: 'user', id: subjectId } };
    const message = {
      eventId: randomUUID(),
      type: 'MessageAppended',
      data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'secret' },
    };
    const store = new PostgresEventStore(db.pool);
    await store.append(
      `conversation-${conversationId}`,
      [
        {
          eventId: randomUUID(),
          type: 'ConversationStarted',
          data: { conversationId, tenantId, subjectId, modelId: 'm' },
          metadata,
          occurredAt: at,
        },
        { ...message, data: sealData(key, message), metadata, occurredAt: at },
      ],
      { expectedVersion: 'no_stream' },
    );
    await store.close().catch(() => undefined);
    await setRetention(db.pool, { tenantId, days: 10, by: { actor: { type: 'operator', id: 'test' } } });

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: db.runtimeUrl,
      MIGRATION_DATABASE_URL: db.url,
      RETENTION_INTERVAL: '1',
      LOG_LEVEL: 'warn',
      CONTENT_KEY_FILE: '',
      CONTENT_KEY_PREVIOUS_FILES: '',
    };
    const child = spawn(process.execPath, [PROJECTOR], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    projector = child;
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

    const destroyed = async () =>
      (
        await db.pool.query(`SELECT 1 FROM content_keys WHERE conversation_id = $1 AND destroyed_at IS NOT NULL`, [
          conversationId,
        ])
      ).rows.length === 1;
    for (let i = 0; i < 300 && !(await destroyed()); i++) await new Promise((r) => setTimeout(r, 200));
    expect(await destroyed()).toBe(true);
    for (let i = 0; i < 50 && !output.includes('retention Sched-T'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain('retention Sched-T (10 days): erased 1, skipped (legal hold) 0');
    const { rows } = await db.pool.query(`SELECT data FROM es_events WHERE stream_id = $1 AND type = 'ContentErased'`, [
      `conversation-${conversationId}`,
    ]);
    expect(rows.map((r) => [r.data.scope, r.data.reason])).toEqual([['retention', 'retention: 10 days']]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).not.toMatch(/retrying|the next run resumes/);
  }, 90_000);
});
