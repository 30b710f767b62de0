import type { Pool } from 'pg';
import { comparePositions, parsePosition } from '@app/event-store';
import { readCheckpoint } from '@app/projections';
import { consistencyProof, inclusionProof, leafHash } from '@app/tlog';
import { latestCheckpoint, listCheckpoints, logKeys, type StoredCheckpoint } from './checkpoints';
import type { CheckpointSigner } from './checkpoint-signer';
import { InvalidTreeSize, LogBehind, NoCheckpoint, NotInTree } from './errors';
import { SEQUENCER_NAME } from './sequencer.projection';
import {
  leafOfEvent,
  leafOfStreamVersion,
  leavesThrough,
  StoredNodes,
  storedTreeSize,
  type StoredLeaf,
} from './stored-nodes';

export interface InclusionAnswer {
  leafIndex: number;
  treeSize: number;
  /** SHA-256(0x00 ‖ the event's 32-byte chain hash). */
  leafHash: Buffer;
  hashes: Buffer[];
  streamId: string;
  version: number;
  eventId: string;
}

export type LeafRef = { eventId: string } | { streamId: string; version: number };

/**
 * What other code asks of the transparency log: checkpoints, keys, proofs, and a checkpoint
 * that covers a log position (signed on demand). `tenantId`: a tenant-scoped caller, who sees
 * another tenant's event exactly as an unknown one.
 */
export class TransparencyLog {
  constructor(
    private readonly pool: Pool,
    readonly origin: string,
    readonly signer: CheckpointSigner | null,
  ) {}

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return latestCheckpoint(this.pool);
  }

  checkpoints(page: { before?: number; limit: number }) {
    return listCheckpoints(this.pool, page);
  }

  /** Every key with the sizes it signed; the current one is the last registered (else this process's). */
  async verifierKeys(): Promise<{
    origin: string;
    verifierKey: string | null;
    keys: Awaited<ReturnType<typeof logKeys>>;
  }> {
    const keys = await logKeys(this.pool);
    return { origin: this.origin, verifierKey: keys.at(-1)?.verifierKey ?? this.signer?.verifierKey ?? null, keys };
  }

  treeSize(): Promise<number> {
    return storedTreeSize(this.pool);
  }

  /** An inclusion proof at `treeSize` (default: the latest signed checkpoint's size). */
  async inclusion(ref: LeafRef, treeSize?: number, tenantId?: string): Promise<InclusionAnswer> {
    // A signed size is never beyond the current tree: only a size the caller gave is checked.
    const size = treeSize ?? (await this.latestCheckpoint())?.treeSize ?? 0;
    if (treeSize !== undefined) {
      const current = await this.treeSize();
      if (size > current) throw new InvalidTreeSize(`treeSize ${size} is beyond the current tree (${current} leaves)`);
    }
    const leaf: StoredLeaf | null =
      'eventId' in ref
        ? await leafOfEvent(this.pool, ref.eventId)
        : await leafOfStreamVersion(this.pool, ref.streamId, ref.version);
    if (!leaf || (tenantId !== undefined && leaf.tenantId !== tenantId) || leaf.leafIndex >= size) {
      throw new NotInTree(`the event is not in the tree of ${size} leaves`);
    }
    return {
      leafIndex: leaf.leafIndex,
      treeSize: size,
      leafHash: leafHash(Buffer.from(leaf.chainHash, 'hex')),
      hashes: await inclusionProof(new StoredNodes(this.pool), leaf.leafIndex, size),
      streamId: leaf.streamId,
      version: leaf.version,
      eventId: leaf.eventId,
    };
  }

  async consistency(from: number, to: number): Promise<Buffer[]> {
    if (from > to) throw new InvalidTreeSize(`from ${from} is beyond to ${to}`);
    const current = await this.treeSize();
    if (to > current) throw new InvalidTreeSize(`to ${to} is beyond the current tree (${current} leaves)`);
    return consistencyProof(new StoredNodes(this.pool), from, to);
  }

  /** A C2SP signed note over `text` with the log's key (key name = origin): e.g. a bundle's manifest. */
  signNote(text: string): string {
    if (!this.signer) throw new NoCheckpoint('no signing key: set SIGNING_KEY_FILE');
    return this.signer.signNote(text);
  }

  private signing: Promise<StoredCheckpoint> | null = null;

  /**
   * Signs the current tree now (or returns the latest checkpoint when the tree has not grown).
   * Callers at the same moment share one signature: fifty bundles asked at once sign once.
   */
  signNow(): Promise<StoredCheckpoint> {
    const signer = this.signer;
    if (!signer) return Promise.reject(new NoCheckpoint('no signing key: set SIGNING_KEY_FILE'));
    this.signing ??= (async () => (await signer.sign())!)().finally(() => (this.signing = null));
    return this.signing;
  }

  /**
   * Waits (up to `timeoutMs`, stopped by `signal`) until the sequencer has passed `position`, then
   * returns the latest checkpoint when it covers every event up to that position, else signs one
   * now (a signature already under way that started before those leaves is followed by another).
   */
  async checkpointCovering(
    position: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<StoredCheckpoint> {
    parsePosition(position);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    while (comparePositions(await readCheckpoint(this.pool, SEQUENCER_NAME), position) < 0) {
      options.signal?.throwIfAborted();
      if (Date.now() > deadline) {
        throw new LogBehind(`the transparency log has not sequenced position ${position} in ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const needed = await this.leavesThrough(position);
    const latest = await this.latestCheckpoint();
    if (latest && latest.treeSize >= needed) return latest;
    let signed = await this.signNow();
    while (signed && signed.treeSize < needed) {
      options.signal?.throwIfAborted();
      signed = await this.signNow();
    }
    return signed;
  }

  /** Leaves up to and including the event at (or last before) a position. */
  private leavesThrough(position: string): Promise<number> {
    const { transactionId, position: pos } = parsePosition(position);
    return leavesThrough(this.pool, transactionId, pos);
  }
}
