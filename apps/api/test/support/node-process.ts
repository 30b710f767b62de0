import { ChildProcess, spawn } from 'node:child_process';
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
