import { EventEmitter } from 'node:events';
import { Client, type ClientBase, type ClientConfig } from 'pg';

export interface NotificationListenerOptions {
  /** The runtime connection's settings (runtimeConnection), with an application_name of its own. */
  connection: ClientConfig;
  channels: readonly string[];
  onNotification?(channel: string, payload: string): void;
  /**
   * After a gap in listening (a lost connection, or a first one that failed): runs on the new
   * connection before `live` turns true, to catch up on what was missed since `downSince`, the
   * database's time at the last sign of life (the process's before the first connection).
   */
  onResumed?(client: ClientBase, downSince: Date): Promise<void>;
  warn?(message: string): void;
  /** A query this often finds a connection that died silently. */
  heartbeatMs?: number;
  /** The first retry after a loss; each failed retry doubles it, up to maxReconnectMs. */
  reconnectMs?: number;
  maxReconnectMs?: number;
}

/**
 * What a reader that waits for changes after each read waits on (projection runners): a mark
 * taken before the read, then the wait, which resolves at once when something was heard since.
 */
export interface ChangeSignal {
  mark(): number;
  next(timeoutMs: number, since: number): Promise<void>;
}

/**
 * LISTEN on a dedicated connection, reconnecting with backoff. While it is down `live` is false
 * and notifications are lost: callers poll meanwhile (`next` always has a timeout), and
 * `onResumed` catches up when it is back.
 */
export class NotificationListener {
  private client: Client | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private readonly wake = new EventEmitter().setMaxListeners(0);
  /** Wakes so far (notifications, reconnections, stop): see mark. */
  private wakes = 0;
  private lastAlive = new Date();
  private gap = false;
  private closed = false;
  private readonly settings: Required<
    Pick<NotificationListenerOptions, 'heartbeatMs' | 'reconnectMs' | 'maxReconnectMs'>
  >;
  private delayMs: number;
  /** This listener as a ChangeSignal. */
  readonly changes: ChangeSignal = {
    mark: () => this.mark(),
    next: (timeoutMs, since) => this.next(timeoutMs, undefined, since),
  };

  constructor(private readonly options: NotificationListenerOptions) {
    this.settings = { heartbeatMs: 5_000, reconnectMs: 1_000, maxReconnectMs: 10_000, ...options };
    this.delayMs = this.settings.reconnectMs;
  }

  get live(): boolean {
    return this.client !== null;
  }

  /** Connects; never throws: on failure `live` stays false and it keeps trying. */
  async start(): Promise<void> {
    await this.connect().catch((err: Error) => this.down(`LISTEN failed (${err.message})`));
  }

  /**
   * A mark of what has been heard so far: `next(…, since)` with it resolves at once when anything
   * was heard after it. Taken before a read, it closes the gap between the read and the wait (a
   * notification that arrives in between is not missed).
   */
  mark(): number {
    return this.wakes;
  }

  /**
   * Resolves at the next notification on any channel, at a reconnection, at stop, or after
   * `timeoutMs`; at once when given a mark (`since`) that something was heard after.
   */
  next(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    if (since !== undefined && since !== this.wakes) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.off('wake', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wake.once('wake', done);
      signal?.addEventListener('abort', done);
    });
  }

  private wakeAll(): void {
    this.wakes++;
    this.wake.emit('wake');
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const client = this.client;
    this.client = null;
    this.wakeAll();
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ connectionTimeoutMillis: 5_000, query_timeout: 3_000, ...this.options.connection });
    client.on('error', (err) => this.lost(client, err));
    client.on('notification', (n) => {
      this.options.onNotification?.(n.channel, n.payload ?? '');
      this.wakeAll();
    });
    try {
      await client.connect();
      for (const channel of this.options.channels) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      const { rows } = await client.query<{ now: Date }>('SELECT now()');
      if (this.gap) await this.options.onResumed?.(client, this.lastAlive);
      this.gap = false;
      this.lastAlive = rows[0].now;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) return void (await client.end().catch(() => undefined));
    this.client = client;
    this.delayMs = this.settings.reconnectMs;
    this.heartbeat = setInterval(() => void this.beat(client), this.settings.heartbeatMs).unref();
    // Waiters may have missed notifications while it was down: let them look now.
    this.wakeAll();
  }

  private async beat(client: Client): Promise<void> {
    try {
      const { rows } = await client.query<{ now: Date }>('SELECT now()');
      this.lastAlive = rows[0].now;
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  private lost(client: Client, err: Error): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    void client.end().catch(() => undefined);
    this.down(`LISTEN connection lost (${err.message})`);
  }

  /** Notes the gap and retries, backing off while the database stays away. */
  private down(why: string): void {
    this.gap = true;
    if (this.closed) return;
    this.options.warn?.(`${why}; polling, reconnecting in ${this.delayMs} ms`);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect().catch((err: Error) => {
        this.delayMs = Math.min(this.delayMs * 2, this.settings.maxReconnectMs);
        this.down(`LISTEN failed again (${err.message})`);
      });
    }, this.delayMs).unref();
  }
}
