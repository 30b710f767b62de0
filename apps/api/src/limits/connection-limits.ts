import type { Server, Socket } from 'node:net';
import { addressBucketName } from './client-address';

/**
 * At most `max` open connections per client address (IPv6: its /64). Token buckets count
 * requests, and a connection whose request never ends costs one token at most (none at all
 * before its headers end): without this cap one address could hold as many connections as
 * the process has file descriptors. A connection over it is closed at once, before a byte is
 * read (no request, so no answer).
 */
export function capConnectionsPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const name = addressBucketName(socket.remoteAddress ?? '');
    const count = open.get(name) ?? 0;
    if (count >= max) return void socket.destroy();
    open.set(name, count + 1);
    socket.once('close', () => {
      const left = (open.get(name) ?? 1) - 1;
      if (left > 0) open.set(name, left);
      else open.delete(name);
    });
  });
}
