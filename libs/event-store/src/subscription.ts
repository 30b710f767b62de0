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

const RETRY_MIN_MS = 10;

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

  /** Delivers one page; false when nothing was visible (or the read failed). */
  const deliver = async (): Promise<boolean> => {
    try {
      const page = await store.readAll({ after, limit: options.batchSize ?? 500 });
      if (page.events.length === 0 || !page.nextPosition) return false;
      await handle(page.events, page.nextPosition);
      after = page.nextPosition;
      return true;
    } catch (err) {
      options.onError?.(err);
      return false;
    }
  };

  /** Sleeps until the timeout or a notification; true when woken by a notification. */
  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    }).finally(() => {
      wake = null;
      nudged = false;
    });

  // After a notification that found nothing, the events it announced may still be held back
  // by an older transaction, open anywhere in the cluster (readAll's visibility rule): look
  // again soon, backing off to the poll interval, rather than sleeping a whole interval.
  let retryMs = 0;
  const loop = (async () => {
    while (!stopped) {
      if (await deliver()) {
        retryMs = 0;
        continue;
      }
      if (stopped) break;
      if (nudged) {
        // A notification came while reading: read again before sleeping.
        nudged = false;
        retryMs = RETRY_MIN_MS;
        continue;
      }
      const woken = await sleep(retryMs || pollMs);
      retryMs = woken ? RETRY_MIN_MS : retryMs > 0 && retryMs * 2 < pollMs ? retryMs * 2 : 0;
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
