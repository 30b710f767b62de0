import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { postgresRunAs } from '../../platform/src/database/embedded-postgres';
import { ScratchCluster } from './scratch-cluster';

/** A streaming replica of a scratch cluster, and what a test does to it. */
export interface ScratchReplica {
  cluster: ScratchCluster;
  /** Stops replaying the WAL it receives (pg_wal_replay_pause), and waits until it has. */
  pauseReplay(timeoutMs?: number): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Waits until it has replayed everything the primary has written so far. */
  catchUp(timeoutMs?: number): Promise<void>;
  /** Stops it, drops its slot on the primary, removes its folder. */
  remove(): Promise<void>;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Files the postgres user must own in the copy. */
function owned(path: string): void {
  const user = postgresRunAs();
  if (user.uid !== undefined) chownSync(path, user.uid, user.gid!);
}

/**
 * A hot standby of `primary` (which runs), from the same binaries, streaming from it: a base
 * backup taken with pg_backup_start/pg_backup_stop and a file copy (the embedded binaries have no
 * pg_basebackup), a physical replication slot made first so that the primary keeps every WAL
 * segment the standby still needs, then standby.signal and primary_conninfo. On return it runs and
 * takes read-only connections: `cluster.runtimeUrl` is READ_DATABASE_URL (roles are replicated).
 */
export async function startScratchReplica(primary: ScratchCluster): Promise<ScratchReplica> {
  const root = mkdtempSync(join(tmpdir(), 'cs-scratch-replica-'));
  chmodSync(root, 0o755);
  const pgdata = join(root, 'pg');
  const slot = `replica_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: primary.url });
  await admin.connect();
  try {
    await admin.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    // Non-exclusive: the backup lasts as long as this session; a fast checkpoint starts it.
    await admin.query("SELECT pg_backup_start('scratch replica', true)");
    execFileSync('cp', ['-a', primary.pgdata, pgdata]);
    const { rows } = await admin.query<{ labelfile: string }>('SELECT labelfile FROM pg_backup_stop(false)');
    writeFileSync(join(pgdata, 'backup_label'), rows[0].labelfile);
    owned(join(pgdata, 'backup_label'));
  } finally {
    await admin.end();
  }
  // Not the primary's: its pid file, its WAL (streamed through the slot instead), its slots.
  for (const file of ['postmaster.pid', 'postmaster.opts']) rmSync(join(pgdata, file), { force: true });
  for (const dir of ['pg_wal', 'pg_replslot']) {
    for (const entry of readdirSync(join(pgdata, dir))) {
      if (entry !== 'archive_status') rmSync(join(pgdata, dir, entry), { recursive: true, force: true });
    }
  }
  const password = new URL(primary.url).password;
  writeFileSync(join(pgdata, 'standby.signal'), '');
  appendFileSync(
    join(pgdata, 'postgresql.auto.conf'),
    `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres ` +
      `password=${decodeURIComponent(password)} application_name=${slot}'\n` +
      `primary_slot_name = '${slot}'\nhot_standby = on\nhot_standby_feedback = on\n`,
  );
  owned(join(pgdata, 'standby.signal'));
  for (const name of ['credentials', 'service-credentials']) copyFileSync(join(primary.dir, name), join(root, name));
  const cluster = new ScratchCluster(root);
  await cluster.start();

  const replayState = async () =>
    (await cluster.query<{ state: string }>('SELECT pg_get_wal_replay_pause_state() AS state'))[0].state;
  return {
    cluster,
    async pauseReplay(timeoutMs = 30_000) {
      await cluster.query('SELECT pg_wal_replay_pause()');
      const deadline = Date.now() + timeoutMs;
      // Replay pauses before its next record: an xid's commit on the primary makes one.
      while ((await replayState()) !== 'paused') {
        if (Date.now() > deadline) throw new Error(`the replica's replay did not pause within ${timeoutMs} ms`);
        await primary.query('SELECT pg_current_xact_id()');
        await sleep(10);
      }
    },
    async resumeReplay() {
      await cluster.query('SELECT pg_wal_replay_resume()');
    },
    async catchUp(timeoutMs = 30_000) {
      const [{ lsn }] = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [{ behind }] = await cluster.query<{ behind: boolean }>(
          'SELECT pg_last_wal_replay_lsn() < $1::pg_lsn AS behind',
          [lsn],
        );
        if (!behind) return;
        if (Date.now() > deadline) throw new Error(`the replica did not replay up to ${lsn} within ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    async remove() {
      await cluster.remove();
      if (primary.running) await primary.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
    },
  };
}
