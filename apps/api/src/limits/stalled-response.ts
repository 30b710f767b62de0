import type { ServerResponse } from 'node:http';

/**
 * Cuts off a streamed response whose client stopped reading: once the response has waited for
 * 'drain' for `idleMs`, its socket is destroyed. That ends the stream feeding it, which releases
 * what it held (the export's database connection and snapshot). Stops watching at 'close'.
 */
export function cutOffWhenStalled(res: ServerResponse, idleMs: number): void {
  let stalledSince: number | null = null;
  const timer = setInterval(
    () => {
      if (!res.writableNeedDrain) {
        stalledSince = null;
        return;
      }
      stalledSince ??= Date.now();
      if (Date.now() - stalledSince >= idleMs) res.destroy();
    },
    Math.max(25, Math.min(1_000, idleMs / 4)),
  );
  timer.unref();
  res.once('close', () => clearInterval(timer));
}
