import { Client, ClientConfig } from 'pg';
import { API_KEY_REVOKED_CHANNEL } from './api-keys';

export interface RevocationHandlers {
  /** A key was revoked (NOTIFY, or found revoked after a gap in listening). */
  revoked(keyId: string): void;
  /** Listening (re)started after a gap: cached keys may have missed a revocation. */
  resumed(): void;
}

const HEARTBEAT_MS = 5_000;
const RECONNECT_MS = 1_000;
/** Revocations this long before the last sign of life are looked up again after a gap. */
const GAP_MARGIN = '10 seconds';

/**
 * One LISTEN connection per process on the revocation channel. While it is down, `live` is
 * false (the resolver then trusts cached keys for a second only); when it is back, keys revoked
 * meanwhile are looked up and announced, so no revocation is lost to a dropped connection. A
 * heartbeat finds a connection that died silently.
 */
export class RevocationListener {
  private client: Client | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** The database's time at the last sign of life (the process's until the first). */
  private lastAlive = new Date();
  /** Listening stopped (or never started) since the process began: revocations may be missed. */
  private gap = false;
  private closed = false;

  constructor(
    /** The runtime's connection settings (its timeouts included). */
    private readonly connection: ClientConfig,
    private readonly handlers: RevocationHandlers,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  get live(): boolean {
    return this.client !== null;
  }

  async start(): Promise<void> {
    await this.connect().catch((err: Error) => {
      this.gap = true;
      this.warn(`revocation LISTEN failed (${err.message}); keys are re-checked every second until it is back`);
      this.reconnectSoon();
    });
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ ...this.connection, application_name: 'conversation-service-keys', query_timeout: 3_000 });
    client.on('error', (err) => this.lost(client, err));
    client.on('notification', (n) => {
      if (n.channel === API_KEY_REVOKED_CHANNEL && n.payload) this.handlers.revoked(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${API_KEY_REVOKED_CHANNEL}`);
      const { rows } = await client.query<{ now: Date }>('SELECT now()');
      if (this.gap) await this.recoverGap(client, this.lastAlive);
      this.gap = false;
      this.lastAlive = rows[0].now;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) return void (await client.end().catch(() => undefined));
    this.client = client;
    this.heartbeat = setInterval(() => void this.beat(client), HEARTBEAT_MS).unref();
  }

  private async recoverGap(client: Client, since: Date): Promise<void> {
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM api_keys WHERE revoked_at >= $1::timestamptz - interval '${GAP_MARGIN}'`,
      [since],
    );
    this.handlers.resumed();
    for (const { id } of rows) this.handlers.revoked(id);
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
    this.gap = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    void client.end().catch(() => undefined);
    if (this.closed) return;
    this.warn(`revocation LISTEN lost (${err.message}); reconnecting`);
    this.reconnectSoon();
  }

  private reconnectSoon(): void {
    if (this.closed) return;
    setTimeout(() => void this.connect().catch(() => this.reconnectSoon()), RECONNECT_MS).unref();
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
