import type { GuardCode } from './guard-codes';
import { GUARD_CODES } from './guard-codes';
import type { Policy } from './policy';

/** One end guard and its rule as plain text, with a policy version's values in it. */
export interface GuardRule {
  guard: GuardCode;
  rule: string;
}

const list = (words: readonly string[]): string => words.join(', ');

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * The text of each guard (DOMAIN.md "Guard rules for ending"), as a function of the version:
 * a Record over GuardCode, so a new guard without its text is a compile error.
 */
const RULE_TEXT: Record<GuardCode, (policy: Policy) => string> = {
  SAFETY_RISK_OPEN: () => 'No one may end a conversation while a flagged safety risk has not been cleared',
  LINEAGE_ALREADY_ENDED: () => 'A lineage that has already been ended cannot be ended again',
  REASON_NOT_ALLOWED: (policy) =>
    `The reason code must be one this version allows for the initiator: ${policy.reasonCodes
      .map((rule) => `${rule.code} (${list(rule.initiators)})`)
      .join('; ')}`,
  MODEL_NOT_END_CAPABLE: (policy) =>
    policy.endCapableModels.length === 0
      ? 'No model may end a conversation under this version'
      : `Only an end-capable model may end a conversation: ${list(policy.endCapableModels)}`,
  INSUFFICIENT_REDIRECTION: (policy) =>
    policy.minRedirectionAttempts === 0
      ? 'No failed redirection needs to come before a model ends a conversation'
      : `At least ${plural(policy.minRedirectionAttempts, 'failed redirection', 'failed redirections')} must come ` +
        'before a model ends a conversation (unless the user asked to end it)',
  NO_USER_REQUEST: () => "An end for USER_REQUESTED needs the user's request to end on the lineage",
  NO_PRIOR_WARNING: (policy) =>
    policy.requireWarning
      ? 'A model may end a conversation only after a warning that the user answered with a later message'
      : 'No warning needs to come before a model ends a conversation under this version',
};

/** Every guard's rule under this policy version, in the order the guards are checked (GUARD_CODES). */
export const guardRules = (policy: Policy): GuardRule[] =>
  GUARD_CODES.map((guard) => ({ guard, rule: RULE_TEXT[guard](policy) }));
