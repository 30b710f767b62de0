import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../../platform/src/database/data-source-options';
import {
  embeddedPostgresBinDir,
  freeLocalPort,
  launchPostgres,
  LaunchedPostgres,
  PortTaken,
  postgresRunAs,
} from '../../platform/src/database/embedded-postgres';
import { ensureEmbeddedServiceLogin } from '../../platform/src/database/embedded-service-login';

/**
 * Scratch PostgreSQL clusters for tests that break the database on purpose (the fault suite) or
 * need a whole cluster of their own (a streaming replica): the embedded PostgreSQL 18 binaries,
 * never the machine's shared server.
 *
 * Making and migrating a cluster takes seconds, copying one a fraction of that: make ONE migrated
 * template (`makeScratchTemplate`), then `cloneScratchCluster` it for each test. A cluster's
 * folder holds `pg/` (the data directory, owned by the `postgres` user when we are root),
 * `credentials` (the superuser's password) and `service-credentials` (the runtime login's).
 *
 * Logins: `postgres` (superuser, owns the schema: `url`) and `conversations_service` (granted only
 * conversations_app, as the embedded default runs: `runtimeUrl`), both with scram-sha-256
 * passwords. pg_hba.conf also lets any role with REPLICATION (the superuser) stream from
 * 127.0.0.1, so a standby can be made from a clone.
 */

/** The database the service's schema lives in. */
export const SCRATCH_DATABASE = 'conversations';

export interface ScratchTemplate {
  /** The folder to copy (pg/, credentials, service-credentials). */
  dir: string;
  /** Removes the template's folder. */
  remove(): void;
}

export interface CloneOptions {
  /** Where the clone goes; a new folder under the system temp dir when absent. */
  dir?: string;
  /**
   * Keep the write-ahead log here instead of in pg/pg_wal (moved, then linked; as initdb
   * --waldir does): a file system that fills up then stops data files, not the WAL.
   */
  waldir?: string;
  /** Extra postgresql.conf lines (`name = value`), kept across restarts. */
  conf?: string[];
  /** Extra pg_hba.conf lines, put first (they win). */
  hba?: string[];
}

export interface StartOptions {
  /** `name=value` settings for this start only (`postgres -c`). */
  settings?: string[];
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A folder the postgres user can reach (not under /root). */
function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

function ownedByPostgres(path: string, mode?: number): void {
  const user = postgresRunAs();
  if (mode !== undefined) chmodSync(path, mode);
  if (user.uid !== undefined) chownSync(path, user.uid, user.gid!);
}

/** The postgres user must reach `dir` (every folder above it searchable by others). */
function reachableByPostgres(dir: string): void {
  const user = postgresRunAs();
  if (user.uid === undefined) return;
  try {
    execFileSync('test', ['-w', dir], { uid: user.uid, gid: user.gid });
  } catch {
    throw new Error(`${dir} is not reachable by the postgres user (a folder above it is private?)`);
  }
}

/** The pids whose parent is `parent` (Linux: /proc/<pid>/stat). */
export function childrenOf(parent: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat?.ppid === parent) found.push(Number(name));
  }
  return found;
}

/** State and parent of a process from /proc/<pid>/stat (its name may hold spaces and parentheses). */
function procStat(pid: number): { state: string; ppid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state, ppid: Number(ppid) };
}

/** Still running: it exists and is not a zombie (dead, waiting to be reaped by its new parent). */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function withSuperuser(url: string): Client {
  return new Client({ connectionString: url });
}

/**
 * One stopped cluster of the embedded binaries, migrated to the latest schema, with the runtime
 * login of the embedded default. `dir` defaults to a new folder under the system temp dir.
 */
export async function makeScratchTemplate(dir = scratchDir('cs-scratch-template-')): Promise<ScratchTemplate> {
  const root = resolve(dir);
  const pgdata = join(root, 'pg');
  const bin = embeddedPostgresBinDir();
  const user = postgresRunAs();
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  const password = randomBytes(18).toString('base64url');
  writeFileSync(join(root, 'credentials'), password, { mode: 0o600 });
  mkdirSync(pgdata, { mode: 0o700 });
  ownedByPostgres(pgdata, 0o700);
  const pwfile = join(root, '.initdb-pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'],
      { ...user, stdio: 'pipe' },
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
  // initdb's pg_hba.conf has the replication line already (kept explicit: a standby needs it).
  const hba = join(pgdata, 'pg_hba.conf');
  if (!/^host\s+replication\s+all\s+127\.0\.0\.1\/32/m.test(readFileSync(hba, 'utf8'))) {
    appendFileSync(hba, 'host replication all 127.0.0.1/32 scram-sha-256\n');
  }
  const template = new ScratchCluster(root);
  await template.start();
  try {
    const admin = withSuperuser(template.adminUrl);
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${SCRATCH_DATABASE}`);
    } finally {
      await admin.end();
    }
    await runMigrations(template.url);
    await ensureEmbeddedServiceLogin(template.url, root);
    await template.checkpoint();
  } finally {
    await template.stop();
  }
  return { dir: root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A copy of the template's cluster (`cp -a`: files stay the postgres user's), not started. */
export function cloneScratchCluster(template: ScratchTemplate, options: CloneOptions = {}): ScratchCluster {
  const root = resolve(options.dir ?? scratchDir('cs-scratch-'));
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o755);
  for (const name of ['pg', 'credentials', 'service-credentials']) {
    execFileSync('cp', ['-a', join(template.dir, name), join(root, name)]);
  }
  const pgdata = join(root, 'pg');
  if (options.waldir) {
    const waldir = resolve(options.waldir);
    mkdirSync(waldir, { recursive: true });
    ownedByPostgres(waldir, 0o700);
    reachableByPostgres(waldir);
    execFileSync('sh', [
      '-c',
      'cp -a "$1"/. "$2"/ && rm -rf "$1" && ln -s "$2" "$1"',
      'sh',
      join(pgdata, 'pg_wal'),
      waldir,
    ]);
  }
  if (options.conf?.length) appendFileSync(join(pgdata, 'postgresql.conf'), `\n${options.conf.join('\n')}\n`);
  if (options.hba?.length) {
    const hba = join(pgdata, 'pg_hba.conf');
    writeFileSync(hba, `${options.hba.join('\n')}\n${readFileSync(hba, 'utf8')}`);
  }
  return new ScratchCluster(root);
}

/**
 * A cluster in its own folder. The port is chosen at the first start and kept across restarts,
 * so URLs handed to other processes stay right after a crash and restart.
 */
export class ScratchCluster {
  readonly pgdata: string;
  private readonly password: string;
  private server: LaunchedPostgres | null = null;
  private chosenPort: number | null = null;
  private settings: string[] = [];

  constructor(readonly dir: string) {
    this.pgdata = join(dir, 'pg');
    this.password = readFileSync(join(dir, 'credentials'), 'utf8').trim();
  }

  get port(): number {
    if (this.chosenPort === null) throw new Error('the scratch cluster was never started');
    return this.chosenPort;
  }

  /** The superuser on the `postgres` database. */
  get adminUrl(): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/postgres`;
  }

  /** The superuser (the schema's owner) on the service's database: MIGRATION_DATABASE_URL. */
  get url(): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${SCRATCH_DATABASE}`;
  }

  /** The runtime login (conversations_app's rights only): DATABASE_URL. */
  get runtimeUrl(): string {
    const file = join(this.dir, 'service-credentials');
    if (!existsSync(file)) throw new Error('this cluster has no runtime login (not made by makeScratchTemplate)');
    const password = readFileSync(file, 'utf8').trim();
    return `postgres://conversations_service:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${SCRATCH_DATABASE}`;
  }

  /** The postmaster's pid while it runs. */
  get pid(): number | undefined {
    return this.running ? this.server?.child.pid : undefined;
  }

  get running(): boolean {
    return this.server !== null && this.server.child.exitCode === null && this.server.child.signalCode === null;
  }

  /**
   * Starts the postmaster and waits until it accepts connections. After a crash the old
   * backends may hold the shared memory for a moment: the start is retried until `timeoutMs`.
   */
  async start(options: StartOptions = {}, timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    if (options.settings) this.settings = options.settings;
    const bin = embeddedPostgresBinDir();
    const user = postgresRunAs();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const port = this.chosenPort ?? (await freeLocalPort());
      try {
        this.server = await launchPostgres(bin, this.pgdata, user, this.password, port, this.settings);
        this.chosenPort = port;
        return;
      } catch (err) {
        if (err instanceof PortTaken && this.chosenPort === null) continue;
        // Old backends of a killed postmaster still attached, or its port not yet free.
        const transient = /shared memory block is still in use|lock file .* already exists|could not bind/i;
        if (!transient.test((err as Error).message) || Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }

  /** Fast shutdown (SIGINT): sessions ended, a checkpoint, exit. */
  async stop(): Promise<void> {
    await this.signal('SIGINT');
  }

  /**
   * SIGKILL of the postmaster alone: its backends go on with the statements they run (and may
   * commit them) until they notice it is gone. A whole server's crash is `crash`.
   */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /**
   * The whole server killed at once, as a crash of the machine or an OOM kill of the service: the
   * postmaster and every process it started (backends, checkpointer, WAL writer, …). Backends
   * call setsid(), so a process group does not hold them: the postmaster is stopped (SIGSTOP: it
   * forks nothing more), its children are read from /proc and stopped too, then every one of them
   * gets SIGKILL. Resolves once none of them runs any more; the stale postmaster.pid is left for
   * the next start to discard, as after a real crash. Returns how many processes were killed.
   */
  async crash(timeoutMs = 10_000): Promise<number> {
    const server = this.server;
    const pid = this.pid;
    if (!server || pid === undefined) return 0;
    process.kill(pid, 'SIGSTOP');
    const children = childrenOf(pid);
    for (const child of children) signalIfAlive(child, 'SIGSTOP');
    for (const child of [pid, ...children]) signalIfAlive(child, 'SIGKILL');
    await server.exited;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = children.filter(isRunning);
      if (left.length === 0) return children.length + 1;
      if (Date.now() > deadline) throw new Error(`the server's processes ${left.join(', ')} outlived SIGKILL`);
      await sleep(20);
    }
  }

  async restart(options?: StartOptions): Promise<void> {
    await this.stop();
    await this.start(options);
  }

  /** A CHECKPOINT (so that a later crash has little WAL to replay). */
  async checkpoint(): Promise<void> {
    await this.query('CHECKPOINT');
  }

  /** Runs one statement as the superuser on the service's database. */
  async query<T extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    const client = withSuperuser(this.url);
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * Stops the cluster if it runs and removes its folder (a separate waldir is the caller's). A
   * fast shutdown, not a kill: the server's processes all end with it, none is left behind
   * holding this process's output pipes.
   */
  async remove(): Promise<void> {
    const server = this.server;
    if (server && this.running) {
      server.child.kill('SIGINT');
      const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
      await server.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const server = this.server;
    if (!server || !this.running) return;
    server.child.kill(signal);
    await server.exited;
  }
}
