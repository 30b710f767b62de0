import { ConversationError } from './errors';
import { endOfLineage, leafMessageIds, redirectionCountOnLineage } from './lineage';
import type { ReasonCode } from './reason-codes';
import type { ConversationState } from './state';
import type { Initiator, ReviewOutcome, ThreadStatusValue } from './vocabulary';

export interface ThreadStatusEnd {
  endEventId: string;
  /** The reason recorded by the end; a reclassification shows in reviewOutcome. */
  reasonCode: ReasonCode;
  initiator: Initiator;
  endedAt: string;
  endedAtMessageId: string;
  reviewOutcome: ReviewOutcome | null;
}

export interface ThreadStatus {
  conversationId: string;
  tenantId: string;
  /** Of the active leaf's lineage. */
  status: ThreadStatusValue;
  activeLeafMessageId: string | null;
  messageCount: number;
  /** Number of leaf messages (0 before any message). */
  branchCount: number;
  /** Redirections on the active lineage. */
  redirectionCount: number;
  openRiskFlags: number;
  ends: ThreadStatusEnd[];
  lastEventAt: string | null;
  version: number;
}

/** CONTRACT.md's thread status (plus tenantId). Throws NOT_FOUND before ConversationStarted. */
export const toThreadStatus = (state: ConversationState): ThreadStatus => {
  if (!state.exists) throw new ConversationError('NOT_FOUND', 'The conversation does not exist');
  const leaf = state.activeLeafMessageId;
  return {
    conversationId: state.conversationId,
    tenantId: state.tenantId,
    status: leaf !== null && endOfLineage(state, leaf) ? 'ended' : 'active',
    activeLeafMessageId: leaf,
    messageCount: state.messageOrder.length,
    branchCount: leafMessageIds(state).length,
    redirectionCount: leaf === null ? 0 : redirectionCountOnLineage(state, leaf),
    openRiskFlags: Object.keys(state.openRiskFlags).length,
    ends: state.ends.map(({ endEventId, reasonCode, initiator, endedAt, endedAtMessageId, reviewOutcome }) => ({
      endEventId,
      reasonCode,
      initiator,
      endedAt,
      endedAtMessageId,
      reviewOutcome,
    })),
    lastEventAt: state.lastEventAt,
    version: state.version,
  };
};
