import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createMasterKeyFile } from '@app/privacy';

/** The built entry points (`npm run build:server`): the suite runs them as real processes. */
export const DIST = join(resolve(__dirname, '../../../..'), 'dist/apps');
export const API_MAIN = join(DIST, 'api/src/main.js');
export const PROJECTOR_MAIN = join(DIST, 'projector/src/main.js');
export const CLI_MAIN = join(DIST, 'cli/src/main.js');

export function requireDist(): void {
  for (const file of [API_MAIN, PROJECTOR_MAIN, CLI_MAIN]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run test:faults\` (it builds dist/ first)`);
  }
}

/** A child process of the suite; its output kept (the tail) and watched line by line. */
export class Child {
  private output = '';
  private readonly watchers: { pattern: RegExp; hit: (line: string) => void }[] = [];
  readonly exited: Promise<void>;
  /** Lines with the time they were printed (ms since the epoch). */
  readonly lines: { at: number; line: string }[] = [];

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    let partial = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output = (this.output + text).slice(-8000);
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.lines.push({ at: Date.now(), line });
        for (const w of this.watchers) if (w.pattern.test(line)) w.hit(line);
      }
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    this.exited = new Promise((done) => proc.once('exit', () => done()));
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  tail(): string {
    return this.output.split('\n').slice(-25).join('\n');
  }

  /** Resolves with the first line matching `pattern` (already printed or to come). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l.line));
    if (seen) return Promise.resolve(seen.line);
    return new Promise((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`${this.name}: no line matching ${pattern} in ${timeoutMs} ms:\n${this.tail()}`)),
        timeoutMs,
      );
      const watcher = {
        pattern,
        hit: (line: string) => {
          clearTimeout(timer);
          this.watchers.splice(this.watchers.indexOf(watcher), 1);
          done(line);
        },
      };
      this.watchers.push(watcher);
      void this.exited.then(() => {
        clearTimeout(timer);
        fail(new Error(`${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}):\n${this.tail()}`));
      });
    });
  }

  /** SIGKILL, as a crash. */
  async kill(): Promise<void> {
    if (this.alive) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a graceful stop), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Settings of every service process of the suite: quiet logs, no rate limits (the load is ours). */
const QUIET = { LOG_LEVEL: 'warn', RATE_LIMITS: 'off', HOST: '127.0.0.1' };

let suiteKeyFile: string | undefined;

/**
 * The master key every process of the suite seals and opens content with (CONTENT_KEY_FILE): the
 * suite has no global setup, so it makes its own, once, in a private temporary directory.
 */
export function contentKeyFile(): string {
  if (process.env.CONTENT_KEY_FILE) return process.env.CONTENT_KEY_FILE;
  if (!suiteKeyFile) {
    suiteKeyFile = join(mkdtempSync(join(tmpdir(), 'cs-faults-content-key-')), 'content-key');
    createMasterKeyFile(suiteKeyFile);
  }
  return suiteKeyFile;
}

export interface Database {
  /** The owner's URL (MIGRATION_DATABASE_URL). */
  url: string;
  /** The runtime login's (DATABASE_URL). */
  runtimeUrl: string;
}

function spawnNode(name: string, script: string, db: Database, env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      ...QUIET,
      CONTENT_KEY_FILE: contentKeyFile(),
      DATABASE_URL: db.runtimeUrl,
      MIGRATION_DATABASE_URL: db.url,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Child(name, proc);
}

export interface ApiProcess extends Child {
  url: string;
}

/** `node dist/apps/api/src/main.js` on a port of its own; resolves once it listens. */
export async function startApi(name: string, db: Database, env: Record<string, string> = {}): Promise<ApiProcess> {
  const child = spawnNode(name, API_MAIN, db, { PORT: '0', ...env });
  const line = await child.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 90_000);
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)![1];
  return Object.assign(child, { url });
}

/** `node dist/apps/projector/src/main.js`; resolves once its runners started. */
export async function startProjector(name: string, db: Database): Promise<Child> {
  const child = spawnNode(name, PROJECTOR_MAIN, db, {});
  await child.waitFor(/\[projector\] running /, 90_000);
  return child;
}

/** Runs the CLI to its end: its exit code, standard output and error output. */
export async function runCli(db: Database, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI_MAIN, ...args], {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        CONTENT_KEY_FILE: contentKeyFile(),
        DATABASE_URL: db.url,
        MIGRATION_DATABASE_URL: db.url,
      },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: e.stdout ?? '', err: e.stderr ?? e.message };
  }
}

/** A writer key of the suite's tenant, made by the CLI as an operator would. */
export async function createWriterKey(db: Database, tenant: string): Promise<string> {
  const { code, out, err } = await runCli(db, [
    'keys:create',
    '--role',
    'writer',
    '--tenant',
    tenant,
    '--label',
    'faults',
    '--actor',
    'faults',
  ]);
  const key = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !key.startsWith('csk_'))
    throw new Error(`keys:create printed no key (exit ${code}):\n${out}${err}`);
  return key;
}
