import { StoredEvent, StreamHead, verifyStreamChain } from '@app/event-store';

export { readStreamHead } from '@app/event-store';
export type { StreamHead } from '@app/event-store';

/** What an auditor is told about a stream's hash chain. */
export interface ChainReport {
  valid: boolean;
  /** The first version whose link does not verify. */
  brokenAtVersion?: number;
  reason?: string;
}

/** The store's chain and head check, in the timeline's shape. */
export function chainReport(events: StoredEvent[], head: StreamHead | null): ChainReport {
  const { valid, brokenAtVersion, reason } = verifyStreamChain(events, head);
  return valid ? { valid } : { valid, brokenAtVersion, reason };
}
