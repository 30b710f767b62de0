import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PostgresEventStore } from '@app/event-store';
import { ContentKeys, createMasterKeyFile, type LocalMasterKey, masterKeyRing, sealData } from '@app/privacy';
import { createTestDatabase, TestDatabase } from '@app/testing';

const CLI = join(resolve(__dirname, '../../../..'), 'dist/apps/cli/src/main.js');
const DAY_MS = 86_400_000;

/** The built CLI as an operator runs it: retention:* and content-keys:*, exit codes and output. */
describe('npm run cli -- retention:* and content-keys:*', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let dir: string;
  let oldFile: string;
  let old: LocalMasterKey;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    dir = mkdtempSync(join(tmpdir(), 'retention-cli-'));
    oldFile = join(dir, 'old-key');
    old = createMasterKeyFile(oldFile); // every content key of these tests is made under it
  });
  afterAll(async () => {
    await store.close().catch(() => undefined);
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
        env: { ...process.env, DATABASE_URL: db.url, CONTENT_KEY_FILE: '', CONTENT_KEY_PREVIOUS_FILES: '', ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const settings = async () => (await db.pool.query('SELECT tenant_id, days FROM retention_settings')).rows;
  const setEvents = async () =>
    Number((await db.pool.query(`SELECT count(*)::int AS n FROM es_events WHERE type = 'RetentionSet'`)).rows[0].n);

  /** Conversations of the tenant with a sealed message, last written `ageDays` ago, keys under `master`. */
  async function conversations(tenantId: string, n: number, ageDays: number, master: LocalMasterKey) {
    const keys = new ContentKeys(db.pool, masterKeyRing(master));
    const at = new Date(Date.now() - ageDays * DAY_MS).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      const subjectId = `s-${i % 7}`;
      const key = await keys.liveKey({ conversationId: id, tenantId, subjectId });
      const message = {
        eventId: randomUUID(),
        type: 'MessageAppended',
        data: { messageId: randomUUID(), parentMessageId: null, role: 'user', content: 'secret' },
      };
      const metadata = { tenantId, actor: { type: 'user', id: subjectId } };
      await store.append(
        `conversation-${id}`,
        [
          {
            eventId: randomUUID(),
            type: 'ConversationStarted',
            data: { conversationId: id, tenantId, subjectId, modelId: 'm' },
            metadata,
            occurredAt: at,
          },
          { ...message, data: sealData(key, message), metadata, occurredAt: at },
        ],
        { expectedVersion: 'no_stream' },
      );
      ids.push(id);
    }
    return ids;
  }

  it('given bad input, then retention:set exits 2 naming the flag and writes nothing', async () => {
    for (const args of [
      ['--tenant', 'acme', '--days', '0'],
      ['--tenant', 'acme', '--days', '36501'],
      ['--tenant', 'acme', '--days', 'ninety'],
      ['--tenant', 'acme'],
      ['--tenant', 'acme', '--days', '5', '--off'],
      ['--tenant', '*', '--days', '5'],
      ['--days', '5'],
      ['--tenant', 'acme', '--day', '5'],
    ]) {
      const res = await cli(['retention:set', ...args]);
      expect([args, res.code, res.stderr.split('\n')[0]]).toEqual([args, 2, expect.stringMatching(/--|days|off/)]);
    }
    expect(await settings()).toEqual([]);
    expect(await setEvents()).toBe(0);
  });

  it('given retention:set and --off, then each prints what was set and retention:list shows it', async () => {
    const set = await cli(['retention:set', '--tenant', 'Acme', '--days', '90', '--actor', 'ops-anna']);
    expect([set.code, set.stdout]).toEqual([
      0,
      expect.stringMatching(/^retention for tenant Acme: 90 days .* ops-anna/),
    ]);
    const other = await cli(['retention:set', '--tenant', 'beta', '--off']);
    expect([other.code, other.stdout]).toEqual([0, expect.stringMatching(/^retention for tenant beta: off/)]);
    const list = await cli(['retention:list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^tenant\s+days\s+set at\s+set by$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['Acme', '90'],
      ['beta', 'off'],
    ]);
    expect(await setEvents()).toBe(2);
  });

  it('given a retention:run killed midway, then a rerun erases every due conversation exactly once', async () => {
    await cli(['retention:set', '--tenant', 'kill-t', '--days', '30']);
    const due = await conversations('kill-t', 250, 31, old);
    const fresh = await conversations('kill-t', 3, 2, old);

    // no CONTENT_KEY_FILE: the job needs no master key
    const child = spawn(process.execPath, [CLI, 'retention:run', '--tenant', 'kill-t'], {
      env: { ...process.env, DATABASE_URL: db.url, CONTENT_KEY_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('100 conversations done')) child.kill('SIGKILL');
    });
    expect(await exited).toBe('SIGKILL');
    const runs = await db.pool.query(
      `SELECT type FROM es_events WHERE stream_id = 'retention-kill-t' ORDER BY stream_version`,
    );
    expect(runs.rows.map((r) => r.type)).toEqual(['RetentionSet', 'RetentionRunStarted']);
    const killedAt = await db.pool.query(
      `SELECT count(*)::int AS n FROM content_keys WHERE tenant_id = 'kill-t' AND destroyed_at IS NOT NULL`,
    );
    expect(killedAt.rows[0].n).toBeGreaterThanOrEqual(100);

    const rerun = await cli(['retention:run', '--tenant', 'kill-t']);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/tenant kill-t: erased \d+, skipped \(legal hold\) 0/);
    const { rows } = await db.pool.query<{ id: string; n: number }>(
      `SELECT substr(stream_id, 14) AS id, count(*)::int AS n FROM es_events
        WHERE type = 'ContentErased' AND metadata->>'tenantId' = 'kill-t' GROUP BY stream_id`,
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...due].sort());
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const live = await db.pool.query(`SELECT conversation_id::text AS id FROM content_keys
      WHERE tenant_id = 'kill-t' AND destroyed_at IS NULL`);
    expect(live.rows.map((r) => r.id).sort()).toEqual([...fresh].sort());

    const again = await cli(['retention:run', '--tenant', 'kill-t']);
    expect(again.stdout).toMatch(/tenant kill-t: erased 0,/);
  });

  it('given a rotation, then content-keys:rewrap moves every live key, refusing without the old one', async () => {
    const newFile = join(dir, 'new-key');
    const current = createMasterKeyFile(newFile);
    await conversations('rot-t', 3, 1, old);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM content_keys WHERE destroyed_at IS NULL`);
    const live = Number(rows[0].n);

    const noKey = await cli(['content-keys:rewrap']);
    expect([noKey.code, noKey.stderr]).toEqual([1, expect.stringContaining('CONTENT_KEY_FILE')]);
    const missing = await cli(['content-keys:rewrap'], { CONTENT_KEY_FILE: newFile });
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining(`wrapped by master key ${old.id}`)]);

    const status = await cli(['content-keys:status'], { CONTENT_KEY_FILE: newFile });
    expect(status.stdout).toMatch(new RegExp(`${old.id}\\s+${live}\\s+0`));
    const rewrap = await cli(['content-keys:rewrap'], {
      CONTENT_KEY_FILE: newFile,
      CONTENT_KEY_PREVIOUS_FILES: oldFile,
    });
    expect([rewrap.code, rewrap.stdout]).toEqual([0, expect.stringMatching(`^rewrapped ${live} content keys`)]);
    expect(rewrap.stdout).toContain('CONTENT_KEY_PREVIOUS_FILES is no longer needed');
    const rerun = await cli(['content-keys:rewrap'], { CONTENT_KEY_FILE: newFile });
    expect([rerun.code, rerun.stdout]).toEqual([0, expect.stringMatching(/^rewrapped 0 content keys/)]);
    const after = await cli(['content-keys:status'], { CONTENT_KEY_FILE: newFile });
    expect(after.stdout).toContain(`${current.id} (current)`);
    expect(after.stdout).not.toContain(old.id);
  });
});
