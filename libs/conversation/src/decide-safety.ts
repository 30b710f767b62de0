import { invalid, requireOneOf, requireOptionalString, requireStarted, requireText } from './command-checks';
import type { ClearSafetyRisk, FlagSafetyRisk } from './commands';
import { compact } from './compact';
import { ConversationError } from './errors';
import type { SafetyRiskCleared, SafetyRiskFlagged } from './events';
import type { ConversationState } from './state';
import { RISK_KINDS, RISK_SOURCES } from './vocabulary';

// Flags are conversation-wide and accepted at any time, ended or not: risk is never ignored.

export const flagSafetyRisk = ({ data }: FlagSafetyRisk, state: ConversationState): SafetyRiskFlagged[] => {
  requireStarted(state);
  requireText(data.flagId, 'flagId');
  requireOneOf(RISK_KINDS, data.kind, 'kind');
  requireOneOf(RISK_SOURCES, data.source, 'source');
  if (data.score !== undefined && !(typeof data.score === 'number' && data.score >= 0 && data.score <= 1))
    throw invalid('score', 'score must be a number from 0 to 1');
  if (state.openRiskFlags[data.flagId] || state.clearedRiskFlags[data.flagId]) {
    throw new ConversationError('DUPLICATE_FLAG', `Risk flag ${data.flagId} already exists`, { flagId: data.flagId });
  }
  const { flagId, kind, source, score } = data;
  return [{ type: 'SafetyRiskFlagged', data: compact({ flagId, kind, source, score }) }];
};

export const clearSafetyRisk = ({ data }: ClearSafetyRisk, state: ConversationState): SafetyRiskCleared[] => {
  requireStarted(state);
  requireOptionalString(data.note, 'note');
  if (state.clearedRiskFlags[data.flagId]) {
    throw new ConversationError('FLAG_ALREADY_CLEARED', `Risk flag ${data.flagId} is already cleared`, {
      flagId: data.flagId,
    });
  }
  if (!state.openRiskFlags[data.flagId]) {
    throw new ConversationError('NOT_FOUND', `Risk flag ${data.flagId} does not exist`, { flagId: data.flagId });
  }
  return [{ type: 'SafetyRiskCleared', data: compact({ flagId: data.flagId, note: data.note }) }];
};
