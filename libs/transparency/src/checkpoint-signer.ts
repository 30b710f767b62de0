import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import {
  consistencyProof,
  formatCheckpoint,
  openCheckpoint,
  parseVerifierKey,
  rootAt,
  signNote,
  verifyConsistency,
} from '@app/tlog';
import { latestCheckpoint, logKeys, type StoredCheckpoint } from './checkpoints';
import type { SigningKey } from './signing-key-file';
import { StoredNodes, storedTreeSize } from './stored-nodes';

/** One signer at a time, in every process: a transaction-scoped advisory lock. */
const SIGNER_LOCK = 0x746c6f67; // 'tlog'

/** The signer refused: the tree does not extend what was signed, or its key was retired. */
export class SigningRefused extends Error {}

export type SignerState = { status: 'ok' } | { status: 'refused'; reason: string; since: string };

export interface SignerLog {
  error(message: string): void;
  warn(message: string): void;
}

/** The files the signer writes under CHECKPOINT_DIR: `checkpoint-<size, 12 digits>.txt`. */
const CHECKPOINT_FILE = /^checkpoint-(\d{1,16})\.txt$/;

/**
 * Turns the tree head into a C2SP checkpoint signed with the log's key. Before signing it
 * checks that the tree extends the last signed checkpoint (a consistency proof from the stored
 * nodes, verified against the stored previous root, and against the last root this process
 * signed): a rewritten history is refused, logged, and the state turns `refused` (/health
 * degraded). Each checkpoint is stored (append-only) and written under `checkpointDir`; at its
 * start (or first signing) a signer takes the newest checkpoint it can verify there as the last one
 * signed, so that a database owner who rewrites the tree and deletes the newer checkpoint rows
 * gets no rewritten tree signed after a restart.
 */
export class CheckpointSigner {
  state: SignerState = { status: 'ok' };
  private lastSigned: { size: number; root: Buffer } | null = null;
  private dirLoaded = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    readonly origin: string,
    private readonly key: SigningKey,
    private readonly options: { checkpointDir?: string; log?: SignerLog } = {},
  ) {}

  get verifierKey(): string {
    return this.key.verifierKey;
  }

  /** Any other C2SP signed note with the log's key (e.g. an export's manifest), named after the origin. */
  signNote(text: string): string {
    return signNote(text, [this.key]);
  }

  /**
   * Signs the current tree unless the latest checkpoint already has its size (then returns
   * that one). `wait: false` (the interval's): gives up (null) when another signer holds the
   * lock, and signs no empty tree. `notWithinMs` (the interval's): gives up (null) when the
   * latest checkpoint, whoever signed it, is younger than that by the database's clock, so that
   * several processes with a signer each (WORKERS > 1) sign once an interval between them.
   */
  async sign(options: { wait?: boolean; notWithinMs?: number } = {}): Promise<StoredCheckpoint | null> {
    const conn = await this.pool.connect();
    let signed: StoredCheckpoint | null;
    try {
      await conn.query('BEGIN');
      const lock = options.wait === false ? 'pg_try_advisory_xact_lock' : 'pg_advisory_xact_lock';
      const { rows } = await conn.query<{ ok: boolean | string; now: Date }>(
        `SELECT ${lock}(${SIGNER_LOCK}) AS ok, now() AS now`,
      );
      if (rows[0].ok === false) {
        await conn.query('ROLLBACK');
        return null;
      }
      const notBefore = options.notWithinMs ? new Date(rows[0].now.getTime() - options.notWithinMs) : null;
      signed = await this.signLocked(conn, options.wait !== false, notBefore);
      await conn.query('COMMIT');
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      if (err instanceof SigningRefused) this.refuse(err.message);
      throw err;
    } finally {
      conn.release();
    }
    // Checked against what was signed before: whatever was refused earlier holds no more.
    this.state = { status: 'ok' };
    if (signed) this.writeFile(signed);
    return signed;
  }

  private async signLocked(tx: PoolClient, empty: boolean, notBefore: Date | null): Promise<StoredCheckpoint | null> {
    const size = await storedTreeSize(tx);
    const previous = await latestCheckpoint(tx);
    if (notBefore && previous && previous.signedAt > notBefore) return null;
    await this.loadCheckpointDir(tx);
    if (!previous && !this.lastSigned && size === 0 && !empty) return null;
    const nodes = new StoredNodes(tx);
    const root = await rootAt(nodes, size);
    const stored = previous && { size: previous.treeSize, root: previous.rootHash };
    const last = this.lastSigned;
    // The last checkpoint this process signed (or found in CHECKPOINT_DIR) is usually the stored one: checked once.
    const same = stored && last && last.size === stored.size && last.root.equals(stored.root);
    for (const before of same ? [stored] : [stored, last]) {
      if (!before) continue;
      if (before.size > size) {
        throw new SigningRefused(`the tree has ${size} leaves, fewer than the ${before.size} already signed`);
      }
      const proof = await consistencyProof(nodes, before.size, size);
      if (!verifyConsistency(before.size, size, proof, before.root, root)) {
        throw new SigningRefused(
          `the tree of ${size} leaves does not extend the checkpoint signed at ${before.size}: not signed`,
        );
      }
    }
    if (previous && size === previous.treeSize) return previous;
    await this.registerKey(tx, size);
    const note = signNote(formatCheckpoint({ origin: this.origin, size, rootHash: root }), [this.key]);
    const { rows } = await tx.query<{ signed_at: Date }>(
      `INSERT INTO tlog_checkpoints (tree_size, root_hash, note, verifier_key) VALUES ($1, $2, $3, $4)
       RETURNING signed_at`,
      [size, root, note, this.key.verifierKey],
    );
    this.lastSigned = { size, root };
    return { treeSize: size, rootHash: root, signedAt: rows[0].signed_at, note, verifierKey: this.key.verifierKey };
  }

  /**
   * Once per signer: the newest checkpoint of `checkpointDir` that verifies with one of the log's
   * keys (stored, or this signer's) and carries its origin becomes the last one signed. A file
   * that does not verify is skipped with a warning. Called at start, else at the first signing.
   */
  async loadCheckpointDir(db: Pool | PoolClient = this.pool): Promise<void> {
    const dir = this.options.checkpointDir;
    if (this.dirLoaded || !dir) return;
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => CHECKPOINT_FILE.test(f));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      files = [];
    }
    const sizeOf = (f: string) => Number(CHECKPOINT_FILE.exec(f)![1]);
    files.sort((a, b) => sizeOf(b) - sizeOf(a));
    const keys = new Set([...(await logKeys(db)).map((k) => k.verifierKey), this.key.verifierKey]);
    const verifiers = [...keys].map((k) => parseVerifierKey(k));
    for (const file of files) {
      try {
        const c = openCheckpoint(readFileSync(join(dir, file), 'utf8'), verifiers, this.origin);
        if (!this.lastSigned || c.size > this.lastSigned.size) this.lastSigned = { size: c.size, root: c.rootHash };
        break;
      } catch (err) {
        const why = (err as Error).message;
        this.options.log?.warn(`transparency log: ${file} in the checkpoint directory is ignored: ${why}`);
      }
    }
    this.dirLoaded = true;
  }

  /** The first checkpoint of a new key makes it the current one from that size; a retired key signs nothing. */
  private async registerKey(tx: PoolClient, size: number): Promise<void> {
    const keys = await logKeys(tx);
    const current = keys.at(-1);
    if (current?.verifierKey === this.key.verifierKey) return;
    if (keys.some((k) => k.verifierKey === this.key.verifierKey)) {
      throw new SigningRefused(`the signing key ${this.key.verifierKey} was retired for ${current?.verifierKey}`);
    }
    await tx.query('INSERT INTO tlog_keys (verifier_key, public_key, from_tree_size) VALUES ($1, $2, $3)', [
      this.key.verifierKey,
      this.key.publicKey,
      size,
    ]);
    if (current) this.options.log?.warn(`signing key rotated at tree size ${size}: ${this.key.verifierKey}`);
  }

  private refuse(reason: string): void {
    this.options.log?.error(`transparency log: refused to sign: ${reason}`);
    this.state = { status: 'refused', reason, since: new Date().toISOString() };
  }

  /** `<dir>/checkpoint-<size>.txt`, written whole (a temporary file renamed). */
  private writeFile(c: StoredCheckpoint): void {
    const dir = this.options.checkpointDir;
    if (!dir) return;
    try {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `checkpoint-${String(c.treeSize).padStart(12, '0')}.txt`);
      writeFileSync(`${file}.tmp`, c.note);
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.options.log?.error(`transparency log: cannot write the checkpoint file: ${(err as Error).message}`);
    }
  }

  /**
   * Signs every `intervalMs` when the tree grew. Skipped when a signer elsewhere holds the lock or
   * a checkpoint was signed within the last 90 % of the interval (by another process, or on demand).
   */
  start(intervalMs: number): void {
    if (this.timer) return;
    const tick = () => {
      this.running = this.sign({ wait: false, notWithinMs: intervalMs * 0.9 }).catch((err: Error) => {
        if (!(err instanceof SigningRefused))
          this.options.log?.warn(`transparency log: signing failed: ${err.message}`);
      });
    };
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
