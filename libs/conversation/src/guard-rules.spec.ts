import { GUARD_CODES, type GuardCode } from './guard-codes';
import { guardRules } from './guard-rules';
import { type Policy, POLICY_V1 } from './policy';
import { asReasonCode } from './reason-codes';

/** Given a policy version, when its guard rules are written out, then each guard's text says its values. */
const given = (policy: Policy) => ({
  whenRulesAreWritten: () => {
    const rules = guardRules(policy);
    const text = (guard: GuardCode) => rules.find((r) => r.guard === guard)?.rule;
    return {
      rules,
      then: (guard: GuardCode, expected: string | RegExp) =>
        typeof expected === 'string' ? expect(text(guard)).toBe(expected) : expect(text(guard)).toMatch(expected),
    };
  },
});

const version = (changes: Partial<Policy>): Policy => ({ ...POLICY_V1, version: 2, ...changes });

describe('guardRules', () => {
  describe('given policy version 1', () => {
    const { rules, then } = given(POLICY_V1).whenRulesAreWritten();

    it('then names every guard once, in the order they are checked', () => {
      expect(rules.map((r) => r.guard)).toEqual([...GUARD_CODES]);
      expect(rules.every((r) => r.rule.length > 0)).toBe(true);
    });

    it('then says how many failed redirections must come before a model ends', () => {
      then(
        'INSUFFICIENT_REDIRECTION',
        'At least 2 failed redirections must come before a model ends a conversation (unless the user asked to end it)',
      );
    });

    it('then names the end-capable models', () => {
      then('MODEL_NOT_END_CAPABLE', 'Only an end-capable model may end a conversation: claude-opus-4, claude-opus-4-1');
    });

    it('then lists each reason code with who may use it', () => {
      then('REASON_NOT_ALLOWED', /USER_REQUESTED \(model\); OPERATOR_ACTION \(operator\)/);
      then('REASON_NOT_ALLOWED', /ABUSE_OF_ASSISTANT \(model, operator\)/);
    });

    it('then says no warning is needed', () => {
      then('NO_PRIOR_WARNING', 'No warning needs to come before a model ends a conversation under this version');
    });

    it('then states the rules that take no values', () => {
      then('SAFETY_RISK_OPEN', 'No one may end a conversation while a flagged safety risk has not been cleared');
      then('LINEAGE_ALREADY_ENDED', 'A lineage that has already been ended cannot be ended again');
      then('NO_USER_REQUEST', "An end for USER_REQUESTED needs the user's request to end on the lineage");
    });
  });

  describe('given a version with other values', () => {
    it('then uses one redirection in the singular', () => {
      given(version({ minRedirectionAttempts: 1 }))
        .whenRulesAreWritten()
        .then('INSUFFICIENT_REDIRECTION', /^At least 1 failed redirection must come before/);
    });

    it('then says none is needed at zero', () => {
      given(version({ minRedirectionAttempts: 0 }))
        .whenRulesAreWritten()
        .then('INSUFFICIENT_REDIRECTION', 'No failed redirection needs to come before a model ends a conversation');
    });

    it('then requires the answered warning when the version does', () => {
      given(version({ requireWarning: true }))
        .whenRulesAreWritten()
        .then(
          'NO_PRIOR_WARNING',
          'A model may end a conversation only after a warning that the user answered with a later message',
        );
    });

    it('then says no model may end when none is end-capable', () => {
      given(version({ endCapableModels: [] }))
        .whenRulesAreWritten()
        .then('MODEL_NOT_END_CAPABLE', 'No model may end a conversation under this version');
    });

    it("then lists the version's own reason codes", () => {
      const rules = [
        {
          code: asReasonCode('SPAM_FLOOD'),
          meaning: 'spam',
          initiators: ['operator'] as const,
          explanationRequired: false,
        },
      ];
      given(version({ reasonCodes: rules }))
        .whenRulesAreWritten()
        .then(
          'REASON_NOT_ALLOWED',
          'The reason code must be one this version allows for the initiator: SPAM_FLOOD (operator)',
        );
    });
  });
});
