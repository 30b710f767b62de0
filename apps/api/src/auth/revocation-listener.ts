import type { ClientConfig } from 'pg';
import { NotificationListener } from '@app/platform';
import { API_KEY_REVOKED_CHANNEL } from '@app/access';

export interface RevocationHandlers {
  /** A key was revoked (NOTIFY, or found revoked after a gap in listening). */
  revoked(keyId: string): void;
  /** Listening (re)started after a gap: cached keys may have missed a revocation. */
  resumed(): void;
}

/** Revocations this long before the last sign of life are looked up again after a gap. */
const GAP_MARGIN = '10 seconds';

/**
 * The revocation channel, on a connection of its own. While it is down, `live` is false (the
 * resolver then trusts cached keys for a second only); when it is back, keys revoked meanwhile
 * are looked up and announced, so no revocation is lost to a dropped connection.
 */
export class RevocationListener {
  private readonly listener: NotificationListener;

  constructor(
    /** The runtime's connection settings (its timeouts included). */
    connection: ClientConfig,
    handlers: RevocationHandlers,
    warn: (message: string) => void = () => undefined,
  ) {
    this.listener = new NotificationListener({
      connection: { ...connection, application_name: 'conversation-service-keys' },
      channels: [API_KEY_REVOKED_CHANNEL],
      onNotification: (_channel, keyId) => keyId && handlers.revoked(keyId),
      async onResumed(client, downSince) {
        const { rows } = await client.query<{ id: string }>(
          `SELECT id FROM api_keys WHERE revoked_at >= $1::timestamptz - interval '${GAP_MARGIN}'`,
          [downSince],
        );
        handlers.resumed();
        for (const { id } of rows) handlers.revoked(id);
      },
      warn: (m) => warn(`revocation ${m}`),
    });
  }

  get live(): boolean {
    return this.listener.live;
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }
}
