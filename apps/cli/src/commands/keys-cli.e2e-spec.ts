import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, TestDatabase } from '@app/testing';

const CLI = join(resolve(__dirname, '../../../..'), 'dist/apps/cli/src/main.js');

/** The built CLI as an operator runs it: exit codes and output of the key commands. */
describe('npm run cli -- keys:*', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(() => db.drop());

  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
        env: { ...process.env, DATABASE_URL: db.url },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const rows = async () => Number((await db.pool.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n);

  it('creates, lists and revokes; the list never shows the key', async () => {
    const created = await cli(
      'keys:create',
      '--role',
      'auditor',
      '--tenant',
      '*',
      '--holder',
      'Erin',
      '--expires',
      '30d',
      '--label',
      'audit 2026',
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1)!;
    const id = /key ([0-9a-f-]{36})/.exec(created.stdout)![1];
    const listed = await cli('keys:list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('Erin');
    expect(listed.stdout).not.toContain(key);
    const revoked = await cli('keys:revoke', id.toUpperCase(), '--reason', 'rotation');
    expect([revoked.code, revoked.stdout.trim()]).toEqual([0, expect.stringMatching(`^revoked key ${id} at `)]);
  });

  it('exits 2 naming the flag on bad input, writing nothing', async () => {
    const before = await rows();
    for (const [args, flag] of [
      [['--role', 'writer', '--tenant', 'acme', '--expires', '90'], '--expires'],
      [['--role', 'writer', '--tenant', 'acme', '--holder'], '--holder'],
      [['--role', 'writer', '--tenant', 'acme', '--expire', '90d'], '--expire'],
    ] as const) {
      const res = await cli('keys:create', ...args);
      expect([res.code, res.stderr.split('\n')[0]]).toEqual([2, expect.stringContaining(flag)]);
    }
    expect(await rows()).toBe(before);
  });

  it('exits 1 with a clear message for an unknown key id', async () => {
    const res = await cli('keys:revoke', '00000000-0000-4000-8000-00000000BEEF');
    expect([res.code, res.stderr.trim()]).toEqual([1, 'no API key has the id 00000000-0000-4000-8000-00000000beef']);
  });
});
