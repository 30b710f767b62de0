import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { OpenApiResponseValidator } from './support/openapi-response-validator';
import { validated } from './support/test-app';

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/apps/api/src/main.js');
const CLI = join(ROOT, 'dist/apps/cli/src/main.js');

/** `npm start` with no DATABASE_URL, from an empty folder: a real embedded PostgreSQL in ./data. */
function startService(cwd: string): Promise<{ proc: ChildProcess; port: number }> {
  // PORT=0: the system picks a free port (a port chosen here could be taken by PostgreSQL's).
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  // The embedded default's own master key, not the test run's.
  delete env.CONTENT_KEY_FILE;
  const proc = spawn(process.execPath, [MAIN], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`service did not start in 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening on http:\/\/[^:]+:(\d+) \(OpenAPI at \/docs\)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        ok({ proc, port: Number(listening[1]) });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => fail(new Error(`service exited with ${code}:\n${output}`)));
  });
}

function stop(proc: ChildProcess): Promise<number | null> {
  return new Promise((ok) => {
    proc.once('exit', (code) => ok(code));
    proc.kill('SIGTERM');
  });
}

describe('npm start without DATABASE_URL', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
  });

  it(
    'starts an embedded PostgreSQL from an empty folder, ' +
      'runs least-privileged, appends and reads, and stops cleanly',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cs-embedded-'));
      chmodSync(dir, 0o755);
      const first = await startService(dir);
      const base = `http://127.0.0.1:${first.port}`;
      const openapi = new OpenApiResponseValidator((await request(base).get('/docs/openapi.json')).body);
      let http = () => validated(request(base), openapi);
      try {
        const health = (await http().get('/health')).body;
        expect(health.status).toBe('ok');
        // Least-privileged out of the box: migrated as the superuser, running as its own login,
        // whose password is kept in ./data for the owner's eyes only.
        expect(health.database).toEqual({ status: 'up', privileges: 'least' });
        expect(statSync(join(dir, 'data/service-credentials')).mode & 0o777).toBe(0o600);
        // The CLI finds the running embedded server through ./data and shares it.
        const cliEnv = { ...process.env };
        delete cliEnv.DATABASE_URL;
        delete cliEnv.CONTENT_KEY_FILE;
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [CLI, 'keys:create', '--role', 'admin', '--tenant', '*'],
          {
            cwd: dir,
            env: cliEnv,
          },
        );
        const key = stdout.trim().split('\n').at(-1)!;
        const auth = { Authorization: `Bearer ${key}` };
        const started = await http()
          .post('/v1/conversations')
          .set(auth)
          .send({ subjectId: 's-1', modelId: 'claude-opus-4', tenantId: 'acme' });
        expect(started.status).toBe(201);
        const id = started.body.conversationId;
        const msg = await http()
          .post(`/v1/conversations/${id}/messages`)
          .set(auth)
          .send({ parentMessageId: null, role: 'user', content: 'hello' });
        expect(msg.status).toBe(201);
        expect((await http().get(`/v1/conversations/${id}`).set(auth)).body).toMatchObject({
          messageCount: 1,
          version: 2,
        });
        // Content is sealed under a master key the embedded default made in ./data: a file of its
        // own (0600), apart from the database password and the signing key; it reads back as text.
        const masterKey = readFileSync(join(dir, 'data/content-key'), 'utf8');
        expect(statSync(join(dir, 'data/content-key')).mode & 0o777).toBe(0o600);
        expect(masterKey).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
        expect(readFileSync(join(dir, 'data/service-credentials'), 'utf8')).not.toContain(masterKey.trim());
        expect(readFileSync(join(dir, 'data/signing-key.pem'), 'utf8')).not.toContain(masterKey.trim());
        const events = (await http().get(`/v1/conversations/${id}/events`).set(auth)).body.items;
        expect(events[1].data.content).toBe('hello');
        expect(events[1].storedData.content).toMatchObject({ enc: 'A256GCM', kid: expect.any(String) });
        expect((await http().get(`/v1/conversations/${id}/messages`).set(auth)).body.items[0].content).toBe('hello');

        // The embedded default signs with a key of its own in ./data (0600); `checkpoint` signs
        // now with it, and the service serves that very note.
        expect(health.transparencyLog).toEqual({ status: 'up', signer: 'ok' });
        expect(statSync(join(dir, 'data/signing-key.pem')).mode & 0o777).toBe(0o600);
        const signed = await promisify(execFile)(process.execPath, [CLI, 'checkpoint'], { cwd: dir, env: cliEnv });
        expect(signed.stdout).toMatch(/^conversation-log\/[^\n]+\n\d+\n[A-Za-z0-9+/]{43}=\n\n\u2014 /);
        const served = await http().get('/v1/audit/log/checkpoint').set(auth);
        expect(served.text).toBe(signed.stdout);

        expect(await stop(first.proc)).toBe(0);
        expect(existsSync(join(dir, 'data/pg/postmaster.pid'))).toBe(false);

        // Data survives a restart from the same folder.
        const second = await startService(dir);
        http = () => validated(request(`http://127.0.0.1:${second.port}`), openapi);
        try {
          const again = await http().get(`/v1/conversations/${id}/events`).set(auth);
          expect(again.body.items.map((e: { type: string }) => e.type)).toEqual([
            'ConversationStarted',
            'MessageAppended',
          ]);
          // ...and its content still opens: the same master key, found again in ./data.
          expect(again.body.items[1].data.content).toBe('hello');
        } finally {
          expect(await stop(second.proc)).toBe(0);
        }
      } finally {
        if (first.proc.exitCode === null) await stop(first.proc);
      }
    },
  );
});
