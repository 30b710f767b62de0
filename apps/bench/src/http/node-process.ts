import { setTimeout as sleep } from 'node:timers/promises';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

/** Built entry points of this repository, beside this file in dist/ (started, never imported). */
export const DIST_APPS = resolve(__dirname, '../../..');

export interface NodeProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  /** CPU time the process has used so far (user + system), in ms; null where /proc is missing. */
  cpuMs(): number | null;
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const CLOCK_TICKS = 100;

/** User + system CPU time of a process in ms, from /proc/<pid>/stat (fields 14 and 15); null elsewhere. */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // The command name (field 2) may hold spaces: count fields from after its closing parenthesis.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/**
 * CPU time the whole machine has spent busy so far, in ms, from /proc/stat (user, nice, system,
 * irq and softirq of every core; idle, iowait and steal left out): the cost of a round to every
 * process taking part (the bench, PostgreSQL's backends, its WAL writer), which another tenant's
 * load on the host disturbs far less than a rate. Null where /proc is missing.
 */
export function machineCpuMs(): number | null {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq] = cpu;
    return ((user + nice + system + irq + softirq) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

/**
 * Starts `node <script>` with `env` on a free port (`portVariable`), its output in a file (so
 * that its logs cost this process nothing), and waits until `readyPath` answers (and, with
 * `readyOutput`, the output says so: WORKERS > 1 answers as soon as its first worker listens).
 */
export async function startNodeProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  portVariable: string,
  readyPath: string,
  readyOutput?: RegExp,
): Promise<NodeProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `cs-bench-${name}-`));
  const logFile = join(dir, 'output.log');
  const out = openSync(logFile, 'a');
  // BENCH_CPU_PROFILE_DIR: each child writes a V8 CPU profile there when it exits (`node --cpu-prof`).
  const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
  const profile = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, script], {
    env: { ...process.env, ...env, [portVariable]: String(port) },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let exited = false;
  const exit = new Promise<void>((done) => child.once('exit', () => ((exited = true), done())));
  const tail = () => readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    await Promise.race([exit, sleep(15_000)]);
    if (!exited) child.kill('SIGKILL');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited || Date.now() > deadline) {
      const output = tail();
      await stop();
      throw new Error(`${name} did not start (${exited ? `exit ${child.exitCode}` : 'timed out'}):\n${output}`);
    }
    const answered = await fetch(`${url}${readyPath}`).then(
      (res) => res.ok,
      () => false,
    );
    const said = !readyOutput || readyOutput.test(readFileSync(logFile, 'utf8'));
    if (answered && said) return { url, cpuMs: () => processCpuMs(child.pid), stop };
    await sleep(250);
  }
}

/** Runs a built entry point to its end; its standard output. */
export async function runNodeScript(script: string, args: string[], env: Record<string, string>): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
  });
  return stdout;
}
