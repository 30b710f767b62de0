import {
  invalid,
  requireMessage,
  requireOneOf,
  requireOptionalString,
  requireReasonCode,
  requireStarted,
  requireText,
} from './command-checks';
import type { EndConversation } from './commands';
import { compact } from './compact';
import type { ConversationEnded, EndAttemptBlocked } from './events';
import { evaluateEndGuards } from './guards';
import { isOnLineage, lineagePath, redirectionCountOnLineage } from './lineage';
import type { Policy } from './policy';
import { hasText, isExplanationRequired } from './reason-codes';
import type { ConversationState } from './state';
import { INITIATORS } from './vocabulary';

/** Evidence must be user messages on the lineage being ended; repeats are dropped. */
const checkEvidence = (state: ConversationState, { data }: EndConversation): string[] => {
  const ids = data.evidenceMessageIds ?? [];
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
    throw invalid('evidenceMessageIds', 'evidenceMessageIds must be an array of message ids');
  const unique = [...new Set(ids)];
  const invalidMessageIds = unique.filter(
    (id) => state.messages[id]?.role !== 'user' || !isOnLineage(state, id, data.atMessageId),
  );
  if (invalidMessageIds.length > 0) {
    throw invalid(
      'evidenceMessageIds',
      `Evidence must be user messages on the lineage through ${data.atMessageId}: ${invalidMessageIds.join(', ')}`,
      { invalidMessageIds },
    );
  }
  return unique;
};

/**
 * The allowlist is checked on the model that ends: the conversation's model or one that
 * answered on this lineage, never a name the caller picks to get past the guard.
 */
const checkEndingModel = (state: ConversationState, { data }: EndConversation): void => {
  if (data.modelId === undefined || data.modelId === state.modelId) return;
  const answered = lineagePath(state, data.atMessageId).some(
    (id) => state.messages[id]?.role === 'assistant' && state.messages[id]?.modelId === data.modelId,
  );
  if (!answered) {
    throw invalid(
      'modelId',
      `modelId ${data.modelId} is neither this conversation's model nor one that answered on this lineage`,
    );
  }
};

/**
 * An end that passes every guard appends ConversationEnded; one that fails any appends
 * EndAttemptBlocked naming all of them (a near-miss auditors see), not an error.
 */
export const endConversation = (
  command: EndConversation,
  state: ConversationState,
  policy: Policy,
): [ConversationEnded] | [EndAttemptBlocked] => {
  const { data } = command;
  requireStarted(state);
  requireOneOf(INITIATORS, data.initiator, 'initiator');
  requireReasonCode(data.reasonCode, 'reasonCode');
  requireOptionalString(data.explanation, 'explanation');
  if (isExplanationRequired(policy, data.reasonCode) && !hasText(data.explanation))
    throw invalid('explanation', `${data.reasonCode} requires an explanation`);
  if (data.modelId !== undefined) requireText(data.modelId, 'modelId');
  requireMessage(state, data.atMessageId, 'atMessageId');
  checkEndingModel(state, command);
  const evidenceMessageIds = checkEvidence(state, command);

  const { initiator, reasonCode, atMessageId } = data;
  const modelId = data.modelId ?? state.modelId;
  const failedGuards = evaluateEndGuards(state, data, policy);
  if (failedGuards.length > 0) {
    return [
      {
        type: 'EndAttemptBlocked',
        data: {
          initiator,
          proposedReasonCode: reasonCode,
          failedGuards,
          atMessageId,
          policyVersion: policy.version,
          modelId,
        },
      },
    ];
  }

  const automated = initiator === 'model';
  return [
    {
      type: 'ConversationEnded',
      data: compact({
        endedAtMessageId: atMessageId,
        initiator,
        reasonCode,
        explanation: hasText(data.explanation) ? data.explanation : undefined,
        evidenceMessageIds,
        redirectionCount: redirectionCountOnLineage(state, atMessageId),
        modelId,
        policyVersion: policy.version,
        automatedDetection: automated,
        automatedDecision: automated,
      }),
    },
  ];
};
