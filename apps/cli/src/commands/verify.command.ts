import { Pool } from 'pg';
import { parseUuid, PostgresEventStore } from '@app/event-store';
import { streamIdOf } from '@app/conversation';
import { UsageError } from '../args';
import { Progress } from '../progress';

/** Recomputes hash chains: `ok N events`, or the first broken link and exit code 1. */
export async function verify(pool: Pool, flags: Record<string, string | true>): Promise<number> {
  const store = new PostgresEventStore(pool);
  const conversation = conversationFlag(flags);
  const { rows } = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM es_streams');
  const progress = new Progress('verifying streams', conversation ? 1 : Number(rows[0].n));
  let events = 0;
  let after: string | null = null;
  const outOfOrder: string[] = [];
  for (;;) {
    const streams: string[] = conversation ? [streamIdOf(conversation)] : await store.listStreams(after, 500);
    for (const streamId of streams) {
      const result = await store.verifyStream(streamId);
      if (!result.valid) {
        progress.done();
        console.log(`broken: ${streamId} at version ${result.brokenAtVersion} (${result.reason})`);
        return 1;
      }
      if (result.outOfCommitOrderAt !== undefined)
        outOfOrder.push(`${streamId} at version ${result.outOfCommitOrderAt}`);
      events += result.count;
      progress.tick();
    }
    if (conversation || streams.length === 0) break;
    after = streams[streams.length - 1];
  }
  progress.done();
  if (conversation && events === 0) {
    console.log(`no events for conversation ${conversation}`);
    return 1;
  }
  // Chains that hold, read out of version order: appended before the stream-order guard (or the
  // log's order tampered with, which the transparency log's checkpoints tell). Every stream is
  // still checked; the chains are sound, so the answer stays ok.
  const SHOWN = 20;
  for (const line of outOfOrder.slice(0, SHOWN))
    console.log(`out of commit order: ${line} commits before the version under it`);
  if (outOfOrder.length > SHOWN) console.log(`out of commit order: ${outOfOrder.length - SHOWN} more streams`);
  const n = outOfOrder.length;
  console.log(`ok ${events} events${n > 0 ? `; ${n} stream${n === 1 ? '' : 's'} read out of version order` : ''}`);
  return 0;
}

/** `--conversation <id>`: a UUID in any letter case, used in lower case (the stream's spelling). */
function conversationFlag(flags: Record<string, string | true>): string | undefined {
  if (flags.conversation === undefined) return undefined;
  const id = parseUuid(flags.conversation);
  if (id === null) throw new UsageError('--conversation must be a UUID');
  return id;
}
