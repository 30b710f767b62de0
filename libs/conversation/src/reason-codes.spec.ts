import { codeRule, policyVersion } from '../test/conversation-fixtures';
import { POLICY_V1 } from './policy';
import {
  HARM_CATEGORIES,
  V1_REASON_CODES,
  isReasonAllowedFor,
  isReasonCode,
  reasonCodesOf,
  V1_REASON_CODE_RULES,
} from './reason-codes';

describe('V1_REASON_CODE_RULES', () => {
  it('holds the table of policy version 1, self-harm not among them', () => {
    expect(V1_REASON_CODE_RULES.map((rule) => rule.code)).toEqual([...V1_REASON_CODES]);
    expect(V1_REASON_CODES).toEqual([...HARM_CATEGORIES, 'USER_REQUESTED', 'OPERATOR_ACTION', 'OTHER_POLICY']);
    expect(HARM_CATEGORIES).toHaveLength(6);
  });

  it('requires an explanation only for operator policy reasons', () => {
    expect(V1_REASON_CODE_RULES.filter((rule) => rule.explanationRequired).map((rule) => rule.code)).toEqual([
      'OPERATOR_ACTION',
      'OTHER_POLICY',
    ]);
  });

  it('is the table of the built-in version 1', () => {
    expect(POLICY_V1.reasonCodes).toBe(V1_REASON_CODE_RULES);
  });
});

describe(isReasonAllowedFor.name, () => {
  const allowed = (code: string) => [
    isReasonAllowedFor(POLICY_V1, 'model', code),
    isReasonAllowedFor(POLICY_V1, 'operator', code),
  ];

  it.each(HARM_CATEGORIES)('lets model and operator use %s', (code) => {
    expect(allowed(code)).toEqual([true, true]);
  });

  it('keeps USER_REQUESTED for the model', () => {
    expect(allowed('USER_REQUESTED')).toEqual([true, false]);
  });

  it.each(['OPERATOR_ACTION', 'OTHER_POLICY'])('keeps %s for operators', (code) => {
    expect(allowed(code)).toEqual([false, true]);
  });

  it('allows no code the version does not declare', () => {
    expect(allowed('SELF_HARM')).toEqual([false, false]);
  });

  it('reads the table of the version it is given', () => {
    const v2 = policyVersion(2, () => [codeRule('SELF_HARM', ['operator'])]);
    expect([
      isReasonAllowedFor(v2, 'operator', 'SELF_HARM'),
      isReasonAllowedFor(v2, 'operator', 'OPERATOR_ACTION'),
    ]).toEqual([true, false]);
  });
});

describe(isReasonCode.name, () => {
  it.each(['ABUSE_OF_ASSISTANT', 'SPAM2', 'X'])('takes the code word %s', (code) => {
    expect(isReasonCode(code)).toBe(true);
  });

  it.each(['abuse', '_X', '2X', 'A-B', 'A B', '', 'A'.repeat(65), 42, null])('refuses %p', (code) => {
    expect(isReasonCode(code)).toBe(false);
  });
});

describe(reasonCodesOf.name, () => {
  it('names every code of the versions once, in the order first declared', () => {
    const v2 = policyVersion(2, () => [codeRule('SPAM_FLOOD'), codeRule('ABUSE_OF_ASSISTANT')]);
    expect(reasonCodesOf([POLICY_V1, v2])).toEqual([...V1_REASON_CODES, 'SPAM_FLOOD']);
  });
});
