import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../../../..');
export const API_MAIN = join(ROOT, 'dist/apps/api/src/main.js');
export const PROJECTOR_MAIN = join(ROOT, 'dist/apps/projector/src/main.js');

/** A built entry point (`dist/`) run as a process of its own, its output kept. */
export class NodeProcess {
  readonly proc: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(main: string, env: Record<string, string>) {
    this.proc = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => (this.output += chunk.toString());
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.exited = new Promise((ok) => this.proc.once('exit', (code) => ok(code)));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resolves with the first match of `pattern` in the output (bounded wait). */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const started = Date.now();
    for (;;) {
      const found = pattern.exec(this.output);
      if (found) return found;
      if (this.proc.exitCode !== null)
        throw new Error(`exited (${this.proc.exitCode}) before ${pattern}:\n${this.output}`);
      if (Date.now() - started > timeoutMs) throw new Error(`no ${pattern} in ${timeoutMs} ms:\n${this.output}`);
      await sleep(50);
    }
  }

  /** SIGTERM (or another signal), then the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `check` holds (polled), or fails with `what` after the timeout. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}

/** A GET on a connection of its own (no keep-alive), so that the cluster hands each to a worker in turn. */
export function getOnNewConnection(base: string, path: string, key?: string): Promise<number> {
  return readOnNewConnection(base, path, key).then((r) => r.status);
}

/** The same, with the answer's body. */
export function readOnNewConnection(
  base: string,
  path: string,
  key?: string,
  /** For an https base: the certificate to trust. */
  ca?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const options = { agent: false as const, headers: key ? { authorization: `Bearer ${key}` } : {} };
    const req = base.startsWith('https:')
      ? httpsRequest(`${base}${path}`, { ...options, ca })
      : request(`${base}${path}`, options);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => ok({ status: res.statusCode!, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parent of a process (/proc/<pid>/stat), or -1 once it is gone. */
export function ppidOf(pid: number): number {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** The workers a WORKERS=n primary's output says are listening (dead ones and replacements included). */
export const workersListedIn = (primary: NodeProcess): number[] =>
  [...primary.output.matchAll(/\[conversation-service worker (\d+)\] listening/g)].map((m) => Number(m[1]));

/** The listed workers that are alive and children of the primary. */
export const childrenOf = (primary: NodeProcess): number[] =>
  workersListedIn(primary).filter((pid) => alive(pid) && ppidOf(pid) === primary.pid);

/** The output's JSON log lines (a line still being written is skipped). */
export function jsonLines<T>(output: string): T[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return [];
      }
    });
}

/**
 * `node dist/apps/api/src/main.js` with WORKERS=2 on a test database, on a free port of 127.0.0.1,
 * logging at info, with `env` on top: resolves once the primary and both of its workers say they
 * listen (the primary's line can come before a worker's own), with its base URL (http or https).
 * A start that fails kills what it started.
 */
export async function startTwoWorkers(
  db: { url: string; runtimeUrl: string },
  env: Record<string, string> = {},
): Promise<{ primary: NodeProcess; base: string }> {
  if (!existsSync(API_MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
  const primary = new NodeProcess(API_MAIN, {
    WORKERS: '2',
    DATABASE_URL: db.runtimeUrl,
    MIGRATION_DATABASE_URL: db.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...env,
  });
  try {
    const listening = /listening on (https?:\/\/127\.0\.0\.1:\d+) \(OpenAPI at \/docs; 2 workers\)/;
    const base = (await primary.waitFor(listening))[1];
    await eventually('both workers said they listen', () => childrenOf(primary).length === 2);
    return { primary, base };
  } catch (err) {
    await killWithWorkers(primary);
    throw err;
  }
}

/** SIGKILL to a primary and to every worker it listed. */
export async function killWithWorkers(primary: NodeProcess): Promise<void> {
  await primary.stop('SIGKILL');
  for (const pid of workersListedIn(primary)) if (alive(pid)) process.kill(pid, 'SIGKILL');
}
