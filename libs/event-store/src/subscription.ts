import { Client, ClientConfig } from 'pg';
import { PostgresEventStore } from './event-store';
import { StoredEvent } from './types';

export interface SubscriptionOptions {
  /** Start after this position (null: from the beginning). */
  after: string | null;
  batchSize?: number;
  /** Fallback poll when no notification arrives (and while a late commit holds readers back). */
  pollIntervalMs?: number;
  /** Connection for LISTEN; without it the subscription only polls. */
  listenConnection?: ClientConfig;
  onError?(err: unknown): void;
}

export interface Subscription {
  stop(): Promise<void>;
}

/**
 * Delivers every event in commit order, batch by batch, to `handle`; the next batch is read
 * only after `handle` resolves. Woken by LISTEN/NOTIFY on `es_events`, with polling as the
 * fallback, so a lost notification only delays delivery.
 */
export async function subscribe(
  store: PostgresEventStore,
  handle: (events: StoredEvent[], position: string) => Promise<void>,
  options: SubscriptionOptions,
): Promise<Subscription> {
  const pollMs = options.pollIntervalMs ?? 1000;
  let after = options.after;
  let stopped = false;
  let wake: (() => void) | null = null;
  let nudged = false;
  const nudge = () => {
    nudged = true;
    wake?.();
  };

  let listener: Client | null = null;
  if (options.listenConnection) {
    listener = new Client(options.listenConnection);
    listener.on('error', (err) => options.onError?.(err));
    listener.on('notification', nudge);
    await listener.connect();
    await listener.query('LISTEN es_events');
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        const page = await store.readAll({ after, limit: options.batchSize ?? 500 });
        if (page.events.length > 0 && page.nextPosition) {
          await handle(page.events, page.nextPosition);
          after = page.nextPosition;
          continue;
        }
      } catch (err) {
        options.onError?.(err);
      }
      if (stopped) break;
      if (nudged) {
        // A notification came while reading: read again before sleeping.
        nudged = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      nudged = false;
    }
  })();

  return {
    async stop() {
      stopped = true;
      nudge();
      await loop;
      if (listener) await listener.end().catch(() => undefined);
    },
  };
}
