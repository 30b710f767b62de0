import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Pool } from 'pg';
import type { AppConfig } from '@app/platform';
import { CheckpointSigner, readSigningKey, resolveOrigin, TransparencyLog } from '@app/transparency';
import { APP_CONFIG, PG_POOL } from '../database/database.providers';

/**
 * The transparency log of this process: its origin (stored once), its signer (SIGNING_KEY_FILE,
 * the embedded default's key, or none) signing every CHECKPOINT_INTERVAL when the tree grew.
 * Ready once the application has started (the document-only app never touches the database).
 */
@Injectable()
export class TransparencyLogService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('TransparencyLog');
  private current: TransparencyLog | null = null;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const settings = this.config.transparencyLog;
    const origin = await resolveOrigin(this.pool, settings.origin);
    let signer: CheckpointSigner | null = null;
    if (settings.signingKeyFile) {
      const key = readSigningKey(settings.signingKeyFile, origin);
      signer = new CheckpointSigner(this.pool, origin, key, {
        checkpointDir: settings.checkpointDir,
        log: { error: (m) => this.logger.error(m), warn: (m) => this.logger.warn(m) },
      });
      // CHECKPOINT_DIR's newest checkpoint: what this signer's next tree must extend.
      await signer.loadCheckpointDir();
      signer.start(settings.checkpointIntervalMs);
    } else {
      this.logger.warn('no SIGNING_KEY_FILE: the log is sequenced but no checkpoint is signed by this process');
    }
    this.current = new TransparencyLog(this.pool, origin, signer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.current?.signer?.stop();
  }

  get log(): TransparencyLog {
    if (!this.current) throw new Error('the transparency log is not started');
    return this.current;
  }

  /** For /health: `refused` when the signer refused a tree that does not extend the signed one. */
  get health(): { status: 'up' | 'down'; signer: 'ok' | 'refused' | 'none'; reason?: string } {
    const signer = this.current?.signer;
    if (!signer) return { status: 'up', signer: 'none' };
    const state = signer.state;
    return state.status === 'ok'
      ? { status: 'up', signer: 'ok' }
      : { status: 'down', signer: 'refused', reason: state.reason };
  }
}
