import { connect, Socket } from 'node:net';
import type { Pool } from 'pg';

/**
 * Big enough that an export must wait on a client that stops reading: 100 ends of about 500 kB
 * (50 MB), more than loopback socket buffers hold here even once the kernel has grown them
 * (tcp_rmem up to 32 MB, tcp_wmem 4 MB; 8 MB often went through whole).
 */
export const BIG_ENDS = 100;

/** Start times of the seeded ends, two hours apart. */
export const bigEndTimes = (i: number): { startedAt: string; endedAt: string } => {
  const startedAt = Date.UTC(2025, 4, 1, 8) + i * 2 * 3_600_000;
  return { startedAt: new Date(startedAt).toISOString(), endedAt: new Date(startedAt + 3_600_000).toISOString() };
};

/** A GET on a raw socket that reads the first bytes of the answer, then stops reading. */
export function stalledReader(
  port: number,
  path: string,
  key: string,
): { socket: Socket; firstBytes: Promise<string>; closed: Promise<void>; rest(): Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\n\r\n`);
  const firstBytes = new Promise<string>((resolve) =>
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      resolve(chunk.toString('latin1'));
    }),
  );
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  /** Reads again, to the end: what the server still sent before it closed the connection. */
  const rest = async () => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.resume();
    await closed;
    return text;
  };
  return { socket, firstBytes, closed, rest };
}

/**
 * The export's snapshots: open transactions of the audit pool's connections (or of the pool named
 * `applicationName`). `stalledFor`: only those waiting on their client (idle in transaction) at
 * least that long, not merely between two of the export's reads.
 */
export const auditSnapshots = async (
  pool: Pool,
  stalledFor?: string,
  applicationName = 'conversation-service (audit)',
): Promise<number> =>
  (
    await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $2 ` +
        `AND xact_start IS NOT NULL
          AND ($1::interval IS NULL OR (state = 'idle in transaction' AND state_change < now() - $1::interval))`,
      [stalledFor ?? null, applicationName],
    )
  ).rows[0].n;
