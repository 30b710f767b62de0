import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createTestDatabase, TestDatabase } from '@app/testing';
import { createKeyOn } from './support/keys';

const MAIN = join(resolve(__dirname, '../../..'), 'dist/apps/api/src/main.js');

/** `npm start` as its own process on the test database; resolves with its base URL once it listens. */
function startService(db: TestDatabase): Promise<{ proc: ChildProcess; base: string }> {
  const env = {
    ...process.env,
    DATABASE_URL: db.runtimeUrl,
    MIGRATION_DATABASE_URL: db.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  const proc = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`service did not start in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!listening) return;
      clearTimeout(timer);
      ok({ proc, base: listening[1] });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => fail(new Error(`service exited with ${code}:\n${output}`)));
  });
}

const stop = (proc: ChildProcess) =>
  new Promise<void>((ok) => (proc.exitCode !== null ? ok() : (proc.once('exit', () => ok()), proc.kill('SIGTERM'))));

/**
 * Two service processes on one database (each its own pool, store, queue and cache): their
 * commands on one conversation conflict in the store, and are decided again until they land.
 */
describe('Two API processes on one database', () => {
  let db: TestDatabase;
  let services: { proc: ChildProcess; base: string }[] = [];
  let auth: Record<string, string>;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
    db = await createTestDatabase();
    services = await Promise.all([startService(db), startService(db)]);
    auth = {
      Authorization: `Bearer ${(await createKeyOn(db.url, { role: 'writer', tenantId: 'acme' })).key}`,
      'Content-Type': 'application/json',
    };
  }, 90_000);
  afterAll(async () => {
    await Promise.all(services.map((s) => stop(s.proc)));
    await db.drop();
  });

  const post = async (base: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('takes 200 concurrent messages split across both: every one 201, at versions 2..201, each once', async () => {
    const id = randomUUID();
    const [one, two] = services.map((s) => s.base);
    expect(
      (await post(one, '/v1/conversations', { conversationId: id, subjectId: 's-1', modelId: 'claude-opus-4-1' }))
        .status,
    ).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(i % 2 ? one : two, `/v1/conversations/${id}/messages`, {
          parentMessageId: null,
          role: 'user',
          content: `m${i}`,
        }),
      ),
    );
    expect(answers.filter((a) => a.status !== 201)).toEqual([]);
    expect(answers.map((a) => a.body.version as number).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 2),
    );
    const { rows } = await db.pool.query('SELECT version::int AS version FROM es_streams WHERE stream_id = $1', [
      `conversation-${id}`,
    ]);
    expect(rows).toEqual([{ version: 201 }]);
  });
});
