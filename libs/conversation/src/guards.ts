import type { EndConversationData } from './commands';
import type { ConversationEnded } from './events';
import type { GuardCode } from './guard-codes';
import { endOfLineage, hasEndRequestOnLineage, hasHeededWarningOnLineage, redirectionCountOnLineage } from './lineage';
import type { Policy } from './policy';
import { isReasonAllowedFor } from './reason-codes';
import type { ConversationState } from './state';

export { GUARD_CODES, type GuardCode } from './guard-codes';

/**
 * Every guard of DOMAIN.md that the end fails, in DOMAIN order. Pure: the compliance check
 * re-runs it on the state folded up to just before each end, with that end's policy version.
 */
export const evaluateEndGuards = (state: ConversationState, end: EndConversationData, policy: Policy): GuardCode[] => {
  const byModel = end.initiator === 'model';
  // A user's explicit request is its own ground: no redirections or warning are owed.
  const harmEndByModel = byModel && end.reasonCode !== 'USER_REQUESTED';
  const failed: GuardCode[] = [];

  if (Object.keys(state.openRiskFlags).length > 0) failed.push('SAFETY_RISK_OPEN');
  if (endOfLineage(state, end.atMessageId)) failed.push('LINEAGE_ALREADY_ENDED');
  if (!isReasonAllowedFor(policy, end.initiator, end.reasonCode)) failed.push('REASON_NOT_ALLOWED');
  if (byModel && !policy.endCapableModels.includes(end.modelId ?? state.modelId)) failed.push('MODEL_NOT_END_CAPABLE');
  if (harmEndByModel && redirectionCountOnLineage(state, end.atMessageId) < policy.minRedirectionAttempts)
    failed.push('INSUFFICIENT_REDIRECTION');
  if (end.reasonCode === 'USER_REQUESTED' && !hasEndRequestOnLineage(state, end.atMessageId))
    failed.push('NO_USER_REQUEST');
  if (policy.requireWarning && harmEndByModel && !hasHeededWarningOnLineage(state, end.atMessageId))
    failed.push('NO_PRIOR_WARNING');

  return failed;
};

/** The end command a stored ConversationEnded was decided from (for re-checking it). */
export const toEndCommandData = (ended: ConversationEnded['data']): EndConversationData => ({
  initiator: ended.initiator,
  reasonCode: ended.reasonCode,
  atMessageId: ended.endedAtMessageId,
  ...(ended.explanation !== undefined && { explanation: ended.explanation }),
  evidenceMessageIds: [...ended.evidenceMessageIds],
  ...(ended.modelId !== undefined && { modelId: ended.modelId }),
});
